# Two commands for a fresh Debian 12 machine (root or sudo): `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# Debian packages the tests use: a real PACS, real DICOM validators and peers, an X server, PDF tools, fonts.
DEB_TEST := orthanc orthanc-dicomweb dcmtk dicom3tools xvfb xauth libxcb-icccm4 libxcb-keysyms1 \
	libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-cursor0 libxkbcommon-x11-0 \
	libegl1 libgl1 libdbus-1-3 poppler-utils fonts-dejavu-core fontconfig iproute2 util-linux
# What the GUI needs to open a window.
DEB_RUN := libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 \
	libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 libdbus-1-3 fonts-dejavu-core fontconfig

.PHONY: run test venv deb-test deb-run lint format sample-data clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# Installs only the Debian packages that are missing (dpkg -s), so a machine that has them is not touched.
deb-test:
	@missing=""; for p in $(DEB_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi

deb-run:
	@missing=""; for p in $(DEB_RUN); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi

run: deb-run venv
	$(VENV)/bin/hsg-workstation

# ruff and lint-imports (the architecture contracts in pyproject.toml) run first but never hide the suite:
# pytest always runs, and the exit code is the suite's (or the linters', when the suite passed and they did not).
test: deb-test venv
	@lint=0; \
	$(VENV)/bin/ruff check hsg_workstation tests benchmarks || lint=$$?; \
	$(VENV)/bin/ruff format --check hsg_workstation tests benchmarks || lint=$$?; \
	$(VENV)/bin/lint-imports --no-cache || lint=$$?; \
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 0 ] && [ $$lint -ne 0 ]; then echo "ruff or lint-imports found problems (see above)"; rc=$$lint; fi; \
	exit $$rc

lint:
	$(VENV)/bin/ruff check hsg_workstation tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

format:
	$(VENV)/bin/ruff format hsg_workstation tests benchmarks
	$(VENV)/bin/ruff check --fix hsg_workstation tests benchmarks

sample-data: venv
	$(VENV)/bin/hsg-workstation sample-data sample_data

clean:
	rm -rf $(VENV) build *.egg-info
