# Two commands for a fresh Debian 12 machine (root or sudo): `make run` and `make test`.
# Before: `apt-get install -y make python3-venv` (stock Debian 12 has neither; see README "Prerequisites").
SHELL := /bin/bash
VENV ?= .venv
PYTHON3 ?= python3
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# Debian packages the tests use: a real PACS, real DICOM validators and peers, an X server, PDF tools, fonts.
DEB_TEST := python3-venv orthanc orthanc-dicomweb dcmtk dicom3tools xvfb xauth libxcb-icccm4 libxcb-keysyms1 \
	libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-cursor0 libxkbcommon-x11-0 \
	libegl1 libgl1 libdbus-1-3 poppler-utils fonts-dejavu-core fontconfig iproute2 util-linux
# What the GUI needs to open a window.
DEB_RUN := python3-venv libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 \
	libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 libdbus-1-3 fonts-dejavu-core fontconfig

.PHONY: run test venv venv-dev python-venv deb-test deb-run lint format sample-data clean

# Stock Debian 12 has python3 but not its venv module (package python3-venv); say so instead of a stack trace.
python-venv:
	@$(PYTHON3) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "python3 cannot create virtual environments: install the Debian package python3-venv"; \
	  echo "    $(SUDO) apt-get install -y python3-venv"; exit 1; }

# Runtime only (what `make run` needs); the dev extras (pytest, ruff, pydicom-data ...) come with `make test`.
$(VENV)/.installed-run: pyproject.toml | python-venv
	@echo "==> creating $(VENV) and installing hsg-workstation with its runtime dependencies (about a minute)"
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --upgrade --progress-bar on pip
	$(PY) -m pip install --progress-bar on -e .
	touch $@
	@echo "==> installed: the command is $(VENV)/bin/hsg-workstation (see README, 'Putting the command on PATH')"

$(VENV)/.installed-dev: $(VENV)/.installed-run
	@echo "==> installing the development extras into $(VENV) (pytest, ruff, pydicom-data, ...)"
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	touch $@

venv: $(VENV)/.installed-run
venv-dev: $(VENV)/.installed-dev

# Installs only the Debian packages that are missing (dpkg -s), so a machine that has them is not touched.
# Debian's orthanc package enables a system-wide PACS service (DICOM 4242, HTTP 8042) on install; the tests start
# their own Orthanc in a private network namespace, so a service this target installed is stopped and disabled.
deb-test:
	@missing=""; for p in $(DEB_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	  case " $$missing " in *" orthanc "*) \
	    if [ -d /run/systemd/system ]; then $(SUDO) systemctl disable --now orthanc >/dev/null 2>&1 || true; \
	      echo "Disabled the system Orthanc service the orthanc package enabled (the tests run their own)"; \
	    else echo "note: the orthanc package ships a system service; the tests do not need it running"; fi;; \
	  esac; fi

deb-run:
	@missing=""; for p in $(DEB_RUN); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi

run: deb-run venv
	$(VENV)/bin/hsg-workstation

# ruff and lint-imports (the architecture contracts in pyproject.toml) run first but never hide the suite:
# pytest always runs, and the exit code is the suite's (or the linters', when the suite passed and they did not).
test: deb-test venv-dev
	@lint=0; \
	$(VENV)/bin/ruff check hsg_workstation tests benchmarks || lint=$$?; \
	$(VENV)/bin/ruff format --check hsg_workstation tests benchmarks || lint=$$?; \
	$(VENV)/bin/lint-imports --no-cache || lint=$$?; \
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 0 ] && [ $$lint -ne 0 ]; then echo "ruff or lint-imports found problems (see above)"; rc=$$lint; fi; \
	exit $$rc

lint: venv-dev
	$(VENV)/bin/ruff check hsg_workstation tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

format: venv-dev
	$(VENV)/bin/ruff format hsg_workstation tests benchmarks
	$(VENV)/bin/ruff check --fix hsg_workstation tests benchmarks

sample-data: venv
	$(VENV)/bin/hsg-workstation sample-data sample_data

clean:
	rm -rf $(VENV) build *.egg-info
