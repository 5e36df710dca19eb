#!/usr/bin/env python3
"""Monte Carlo reconstruction: the DIGI -> DST step of real data, run on simulated DIGI.

python3 mc_reco.py --input mc_000001.digi --output mc_000001.dst --seed 11
"""

from __future__ import annotations

import sys

import digi_to_dst

if __name__ == "__main__":
    sys.exit(digi_to_dst.main(program="mc_reco"))
