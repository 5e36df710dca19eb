# The two commands of the README: `make demo` and `make test`. Everything they need is set up
# here, from a fresh clone: the virtual environment from the committed lock, the Rust
# extension, the binaries.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(HOME)/.cargo/bin:$(PATH)
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: test demo env clients-env jedi-env build lint rust-test py-test lock clean

## env: the project's virtual environment, installed from requirements/dev.lock.
env: $(VENV)/.synced

$(VENV)/.synced: requirements/dev.lock
	test -x $(PY) || python3 -m venv $(VENV)
	test -x $(BIN)/uv || $(PY) -m pip install --quiet uv==0.13.8
	uv pip sync --python $(PY) requirements/dev.lock
	touch $@

## clients-env: the official clients (rucio-clients, panda-client, fts3) in their own
## environment; fts3 needs M2Crypto, which builds against swig and OpenSSL's headers.
clients-env: .venv-clients/.synced

.venv-clients/.synced: requirements/clients.lock | env
	scripts/apt-ensure swig libssl-dev
	test -x .venv-clients/bin/python || python3 -m venv .venv-clients
	uv pip sync --python .venv-clients/bin/python requirements/clients.lock
	touch $@

## jedi-env: PanDA's JEDI job splitter (panda-server-source, panda-common) in its own
## environment, the peer of the splitter's differential test and benchmark.
jedi-env: .venv-jedi/.synced

.venv-jedi/.synced: requirements/jedi.lock | env
	test -x .venv-jedi/bin/python || python3 -m venv .venv-jedi
	uv pip sync --python .venv-jedi/bin/python requirements/jedi.lock
	touch $@

## build: the extension into the environment, and the sidecar and gridsim binaries.
build: env
	maturin develop --release --uv
	cargo build --release --locked -p bmnflow-gridsim -p bmnflow-sidecar

## lint: formatters and linters; any finding fails.
lint: env
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	ruff check python tests dags bench
	ruff format --check python tests dags bench

## rust-test: in the release profile, so that the dependencies the extension and the binaries
## are built with are compiled once rather than twice (a fresh CI machine has two cores).
rust-test:
	cargo test --release --locked --workspace

py-test: build clients-env jedi-env
	pytest

## demo: one BM@N run from the DAQ to DST on the embedded grid (gridsim, a real Rucio server
## and its daemons, Airflow, the sidecar), with progress and a summary; nothing is left
## running unless KEEP=1 (then `python scripts/demo.py stop` stops it).
demo: build
	$(PY) scripts/demo.py

## test: everything CI checks.
test: lint rust-test py-test

## lock: re-resolves the committed locks after a change of pyproject.toml, clients.in or jedi.in.
lock:
	uv pip compile pyproject.toml --extra dev -p 3.11 --python-platform x86_64-manylinux_2_28 \
		--no-header -o requirements/dev.lock
	uv pip compile requirements/clients.in -p 3.11 --python-platform x86_64-manylinux_2_28 \
		--no-header -o requirements/clients.lock
	uv pip compile requirements/jedi.in -p 3.11 --python-platform x86_64-manylinux_2_28 \
		--no-header -o requirements/jedi.lock

clean:
	cargo clean
	rm -rf $(VENV)
