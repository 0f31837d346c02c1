# Fresh machine -> working zoo. Every target bootstraps what it needs (Debian packages, .venv).
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

# Debian packages the corpus generators and augmenters use (DESIGN.md section 6).
DEBIAN_PACKAGES := espeak-ng libespeak-ng1 flite festival festvox-kallpc16k festvox-us-slt-hts \
	fluidsynth fluid-soundfont-gm timgm6mb-soundfont sox libsndfile1

.PHONY: deps demo test test-slow bench clean
deps: .venv/.stamp-deps

.venv/.stamp-debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p .venv && touch $@

.venv/.stamp-deps: pyproject.toml .venv/.stamp-debian
	@[ -x $(PY) ] || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	@touch $@

test: deps
	$(PY) -m pytest -q -n 2 --dist loadfile

test-slow: deps
	$(PY) -m pytest -q -m slow

demo: deps
	$(PY) -m training.demo --output demo-out

bench: deps
	$(PY) benchmarks/kws_families.py

clean:
	rm -rf demo-out runs .pytest_cache
