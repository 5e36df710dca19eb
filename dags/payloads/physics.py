"""The stand-in physics of the payloads: digitisation, reconstruction, event generation.

Nothing here resembles BmnRoot's algorithms; what matters is that each step is a pure
function of its input event and the seed, so that outputs are reproducible byte for byte and
a chain can be checked by its event counts.
"""

from __future__ import annotations

from typing import Any

from bmnio import DETECTORS, seeded_rng

#: ADC gain per detector, so that DIGI values differ from the raw counts in a checkable way.
GAINS = (0.5, 0.25, 0.75, 1.0, 1.0, 0.6, 2.0)
#: Digits below this value are dropped (zero suppression), as a real digitiser does.
THRESHOLD = 8.0
#: Particle species of the generator: PDG codes of p, pi+, pi-, K+, deuteron.
SPECIES = (2212, 211, -211, 321, 1000010020)


def digitise(event: int, hits: Any, seed: int) -> list[list[float]]:
    """Calibrated digits ``[detector, channel, value]`` of one event's hits."""
    rng = seeded_rng("digi", seed, event)
    digits = []
    for detector, channel, adc in hits:
        value = round(adc * GAINS[detector] + rng.gauss(0.0, 1.0), 3)
        if value >= THRESHOLD:
            digits.append([detector, channel, value])
    return digits


def reconstruct(event: int, digits: list[list[float]], seed: int) -> dict[str, Any]:
    """The DST record of one event: tracks, vertex and energy deposits by detector."""
    rng = seeded_rng("reco", seed, event)
    by_detector = [0.0] * len(DETECTORS)
    for detector, _, value in digits:
        by_detector[int(detector)] += value
    tracking = [d for d in digits if DETECTORS[int(d[0])] in ("GEM", "SILICON", "CSC")]
    return {
        "tracks": len(tracking) // 3,
        "vertex": [round(rng.gauss(0.0, 0.1), 4) for _ in range(2)]
        + [round(rng.gauss(0.0, 0.5), 4)],
        "energy": {name: round(e, 3) for name, e in zip(DETECTORS, by_detector, strict=True) if e},
    }


def generate(event: int, seed: int) -> list[list[float]]:
    """Particles ``[pdg, px, py, pz]`` (GeV/c) of one Monte Carlo event."""
    rng = seeded_rng("gen", seed, event)
    particles = []
    for _ in range(rng.randint(2, 24)):
        pdg = SPECIES[rng.randrange(len(SPECIES))]
        momentum = [round(rng.gauss(0.0, 0.4), 4) for _ in range(2)]
        particles.append([pdg, *momentum, round(rng.uniform(0.2, 3.5), 4)])
    return particles


def simulate(event: int, particles: list[list[float]], seed: int) -> list[tuple[int, int, int]]:
    """Detector hits ``(detector, channel, adc)`` that the particles of one event leave."""
    rng = seeded_rng("sim", seed, event)
    hits = []
    for _, px, py, pz in particles:
        for detector in range(len(DETECTORS)):
            if rng.random() < 0.7:
                channel = int(abs(px * 1000 + py * 100 + pz * 10 + detector)) % 1024
                hits.append((detector, channel, rng.randint(10, 900)))
    return hits
