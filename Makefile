# fuel-plugin-xenserver: `make` builds the plugin RPM, `make test` runs every test, `make demo` deploys
# the plugin in the lab. Everything the build makes lives in .work/ (venvs, staging) and output/.
SHELL := /bin/bash
.DEFAULT_GOAL := all

PY3 ?= python3.11
PY27 ?= /root/.pyenv/versions/2.7.18/bin/python
WORK := .work
VENV := $(WORK)/venv
FPB_VENV := $(WORK)/venv-fpb
NODE_VENV := $(WORK)/venv-node27
PYTHON := $(VENV)/bin/python

# As builder.version makes them (without its venv): plugin/metadata.yaml's version template (4.0.@REV@) with the
# number of commits as revision, and fpb's RPM name fuel-plugin-xenserver-<major.minor>-<version>-1.noarch.rpm.
REV := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)
VERSION := $(subst @REV@,$(REV),$(shell sed -n 's/^version://p' plugin/metadata.yaml | tr -d "'\" "))
MAJOR_MINOR := $(shell echo '$(VERSION)' | cut -d. -f1-2)
RPM := output/fuel-plugin-xenserver-$(MAJOR_MINOR)-$(VERSION)-1.noarch.rpm
DOCS_SOURCES := $(shell git ls-files -co --exclude-standard docs plugin/environment_config.yaml plugin/components.yaml node/xenserver_plugin)
DOCS_STAMP := $(WORK)/docs/.built-$(VERSION)
PLUGIN_SOURCES := $(shell git ls-files -co --exclude-standard plugin node/xenserver_plugin builder requirements/vendor.txt)

.PHONY: all venvs test lint unit node-test demo docs report clean suppack FORCE

all: $(RPM) $(DOCS_STAMP)
	@echo "$(RPM)"

$(VENV)/.ready: requirements/tooling.txt
	@command -v $(PY3) >/dev/null || { echo "$(PY3) not found: install Python 3.11 (or pass PY3=...)"; exit 1; }
	rm -rf $(VENV) && $(PY3) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements/tooling.txt || { echo "cannot install requirements/tooling.txt: is PyPI reachable?"; exit 1; }
	touch $@

$(WORK)/venv-%27/.ready: requirements/%.txt $(VENV)/.ready
	@test -x $(PY27) || { echo "Python 2.7 not found at $(PY27): install it (pyenv install 2.7.18) or pass PY27=..."; exit 1; }
	rm -rf $(@D) && $(VENV)/bin/virtualenv -q -p $(PY27) $(@D)
	$(@D)/bin/pip install -q -r $< || { echo "cannot install $< into the Python 2.7 venv: is PyPI reachable?"; exit 1; }
	touch $@

$(FPB_VENV)/.ready: requirements/fpb.txt $(VENV)/.ready
	@test -x $(PY27) || { echo "Python 2.7 not found at $(PY27): install it (pyenv install 2.7.18) or pass PY27=..."; exit 1; }
	rm -rf $(@D) && $(VENV)/bin/virtualenv -q -p $(PY27) $(@D)
	$(@D)/bin/pip install -q -r $< || { echo "cannot install fuel-plugin-builder into its Python 2.7 venv: is PyPI reachable?"; exit 1; }
	touch $@

# Nova Train + Neutron Train under Python 2.7 (issue 8's verify rows run Nova's own XenAPI driver in the lab):
# ~2.5 min, compiles a few packages (gcc). Tooling is order-only: a tooling change does not rebuild it.
NOVA_VENV := $(WORK)/venv-nova27
$(NOVA_VENV)/.ready: requirements/nova-train.txt | $(VENV)/.ready $(WORK)/.sysdeps-nova
	@test -x $(PY27) || { echo "Python 2.7 not found at $(PY27): install it (pyenv install 2.7.18) or pass PY27=..."; exit 1; }
	rm -rf $(@D) && $(VENV)/bin/virtualenv -q -p $(PY27) $(@D)
	$(@D)/bin/pip install -q -r $< || { echo "cannot install $< into $(@D): is PyPI reachable?"; exit 1; }
	touch $@

# Real Keystone + Glance for the lab's controllers (issue 6): built once (~2 min); `prepare` caches the
# migrated empty databases and the seed qcow2 in $(OS_VENV)/lab-cache (~12 s, once).
OS_VENV := $(WORK)/venv-openstack
$(OS_VENV)/.ready: requirements/openstack.txt | $(VENV)/.ready $(WORK)/.sysdeps-testvm
	@command -v $(PY3) >/dev/null || { echo "$(PY3) not found: install Python 3.11 (or pass PY3=...)"; exit 1; }
	rm -rf $(OS_VENV) && $(PY3) -m venv $(OS_VENV)
	$(OS_VENV)/bin/pip install -q -r requirements/openstack.txt || { echo "cannot install requirements/openstack.txt (Keystone, Glance) into $(OS_VENV): is PyPI reachable?"; exit 1; }
	$(PYTHON) -m lab.openstack.services prepare
	touch $@

venvs: $(VENV)/.ready $(NODE_VENV)/.ready $(FPB_VENV)/.ready $(NOVA_VENV)/.ready $(OS_VENV)/.ready

$(WORK)/.sysdeps-%: builder/sysdeps.py | $(VENV)/.ready
	$(PYTHON) -m builder.sysdeps $*
	touch $@

# The Dom0 supplemental pack (issue 5): os-xenapi from PyPI by default, or DOM0_PLUGINS_SRC=<tree>.
# Runs every time (~2 s, wheel cached) and rewrites suppack.json only when the pack changed.
SUPPACK_DIR := $(WORK)/artifacts/plugin/deployment_scripts/suppack
SUPPACK := $(SUPPACK_DIR)/suppack.json
$(SUPPACK): FORCE | $(WORK)/.sysdeps-build $(VENV)/.ready
	$(PYTHON) -m builder.suppack --out $(SUPPACK_DIR)
suppack: $(SUPPACK)
FORCE:

# The XenServer TestVM (issue 6): Debian's kernel and busybox in a reproducible dynamic VHD.
TESTVM := $(WORK)/artifacts/plugin/deployment_scripts/testvm/testvm.tgz
$(TESTVM): builder/testvm.py $(wildcard builder/testvm/*) $(WORK)/.sysdeps-testvm | $(VENV)/.ready
	$(PYTHON) -m builder.testvm --out $(@D)

$(RPM): $(PLUGIN_SOURCES) $(SUPPACK) $(TESTVM) $(WORK)/.sysdeps-build $(FPB_VENV)/.ready
	$(PYTHON) -m builder.plugin --fpb $(FPB_VENV)/bin/fpb --out output >/dev/null

# User Guide, Test Plan, Test Report (HTML + PDF) in output/docs/, branded with the version: rebuilt once per commit.
docs: $(DOCS_STAMP)
$(DOCS_STAMP): $(DOCS_SOURCES) $(RPM) $(WORK)/.sysdeps-docs $(VENV)/.ready
	$(PYTHON) -m docs.build --out output/docs
	@mkdir -p $(@D) && touch $@

# The Test Report from real runs: every test (both interpreters) and the lab demo, as machine-readable results.
report: $(RPM) venvs $(WORK)/.sysdeps-lab $(WORK)/.sysdeps-docs
	rm -rf output/test-results && mkdir -p output/test-results
	-$(PYTHON) -m pytest -q -p no:cacheprovider tests --junitxml=output/test-results/junit-tooling.xml -o junit_suite_name=tooling-python3.11
	-PYTHONDONTWRITEBYTECODE=1 $(NODE_VENV)/bin/python -m pytest -q -p no:cacheprovider node/tests --junitxml=output/test-results/junit-node-python2.7.xml -o junit_suite_name=node-python2.7
	-PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -q -p no:cacheprovider node/tests --junitxml=output/test-results/junit-node-python3.xml -o junit_suite_name=node-python3.11
	-$(PYTHON) -m lab demo --json output/test-results/lab.json
	$(PYTHON) -m docs.build --out output/docs --only test_report

# The main job: build, bring up the lab, deploy the plugin as Fuel would, verify, tear down.
# DEMO_ARGS e.g. --xenserver 6.5,7.1 or --fixtures ../shared/fixtures/fuel9/nailgun/xs-ha
demo: all venvs $(WORK)/.sysdeps-lab
	$(PYTHON) -m lab demo $(DEMO_ARGS)

lint: $(VENV)/.ready
	$(VENV)/bin/ruff check .

# Node unit tests run under both interpreters the nodes may have.
node-test: $(NODE_VENV)/.ready $(VENV)/.ready
	PYTHONDONTWRITEBYTECODE=1 $(NODE_VENV)/bin/python -m pytest -q -p no:cacheprovider node/tests
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -q -p no:cacheprovider node/tests

unit: $(VENV)/.ready
	$(PYTHON) -m pytest -q tests

test: all venvs $(WORK)/.sysdeps-lab lint node-test unit

clean:
	rm -rf $(WORK) output
