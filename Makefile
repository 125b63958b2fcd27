# dfab: the two set-up commands on a fresh Debian 12 machine (as root) are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all build setup demo demo-fleet demo-fleet-djdemo test lint fuzz fuzz-deb bench deb clean-containers

all: build

build:
	$(CARGO) build --release

# apt packages, the LXC bridge, the test base container and key (idempotent).
setup:
	bash scripts/setup-host

# The main job on a local default: fixtures/djdemo (Django, PostgreSQL, nginx) deployed for
# real into two LXC containers, production and staging, each HTTP answer checked (scripts/demo).
demo: setup build
	bash scripts/demo

# A fleet of 4 containers behind nginx: bake, create, bluegreen, rollback, serial, suspend
# (scripts/demo-fleet; the README's "Fleets" section).
demo-fleet: setup build
	bash scripts/demo-fleet

# djdemo as a fleet of 2 behind nginx, one PostgreSQL shared by the members: bake, create (the
# migration once), bluegreen to 1.1 and rollback under a request loop, suspend
# (scripts/demo-fleet-djdemo; the README's "Fleets" section).
demo-fleet-djdemo: setup build
	bash scripts/demo-fleet-djdemo

# Lint first, then every test (unit, the compat corpus, the integration binary), so the run
# closes on the test summary.
test: setup
	$(MAKE) lint
	$(CARGO) test --lib --bins --tests

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	shellcheck host/dfab-host

fuzz:
	bash scripts/fuzz

# deb.build against dpkg-buildpackage on generated debian/ trees, without end (also run by `fuzz`).
fuzz-deb:
	bash scripts/fuzz-deb

bench: setup
	bash scripts/bench

# Remove containers a crashed test run left behind.
clean-containers:
	for c in $$(lxc-ls -1 | grep -E '^dfab-(it|lxct|demo)-'); do lxc-stop -k -n $$c; lxc-destroy -n $$c; done

# dfab's own package, built by dfab (see environments.py and debian/).
deb: build
	target/release/dfab local deb.build
