# Corral: `make demo` and `make test` work as root on a fresh Debian machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
LAB_DIR ?= /tmp/corral-lab
DEBIAN_PACKAGES := docker.io openssh-server busybox-static iproute2 iptables tmux \
	librsvg2-bin fonts-dejavu-core docker-registry debootstrap haproxy openssl
STAMP := $(VENV)/.installed

.PHONY: demo test deps venv lab-up lab-down lint bench screenshots clean

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lab-up: deps venv
	$(PY) tests/lab/lab up --dir $(LAB_DIR)

lab-down:
	python3 tests/lab/lab down --dir $(LAB_DIR)

CORRAL_LAB := $(VENV)/bin/corral --inventory $(LAB_DIR)/inventory.yaml \
	--known-hosts $(LAB_DIR)/known_hosts

# The demo stack's password is a throwaway for the lab only.
demo: lab-up
	$(CORRAL_LAB) deploy webrtc-demo --stack demo --set KV_PASSWORD=lab-demo-only --yes \
	  || echo "(the demo stack did not deploy; the console opens anyway)"
	$(CORRAL_LAB)

# Two pytest runs: everything but the lab tests on XDIST workers (they share no
# state: each worker has its own gate, tmp dirs and XDG dirs), then the lab tests on
# LAB_XDIST workers, each with its own lab (CORRAL_TEST_LAB_DIR-gwN), a whole test
# file per worker (--dist loadfile: a file's tests share their module fixtures).
# The lab part mostly waits on hosts: two labs at once take about half as long;
# LAB_XDIST=0 runs it serially on one lab. Both runs always run; `make test` fails
# if either did.
XDIST ?= 2
LAB_XDIST ?= 2
test: deps venv
	$(VENV)/bin/ruff check .
	@status=0; \
	$(VENV)/bin/pytest -q -n $(XDIST) --durations=10 tests --ignore=tests/labtests \
	  || status=$$?; \
	CORRAL_REQUIRE_LAB=1 $(VENV)/bin/pytest -q -n $(LAB_XDIST) --dist loadfile \
	  --durations=25 tests/labtests || status=$$?; \
	exit $$status

lint: venv
	$(VENV)/bin/ruff check .

bench: deps venv
	$(PY) bench/tunnel.py --dir $(LAB_DIR)
	$(PY) bench/console.py --dir $(LAB_DIR)
	$(PY) bench/logs.py --dir $(LAB_DIR)
	$(PY) bench/shell.py --dir $(LAB_DIR)
	$(PY) bench/deploy.py --dir $(LAB_DIR)
	$(PY) bench/faults.py --dir $(LAB_DIR)
	$(PY) bench/images.py --dir $(LAB_DIR)-images

screenshots: deps venv
	$(PY) screenshots/make_screenshots.py --dir $(LAB_DIR)

clean: lab-down
	rm -rf $(VENV) build dist *.egg-info
