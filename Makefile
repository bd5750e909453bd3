# make demo | make test | make lab — each creates .venv and installs the project when needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.pgvet-installed

.PHONY: demo test lab install server-stop clean test-extras

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pgvet demo

test: $(STAMP) test-extras
	$(BIN)/python -m pytest -q

# Optional: Debian's PostgreSQL 15 with hypopg (index suggestions confirmed on a second major
# version) and Chromium (the report used in a real browser). Installed only as root with apt; the
# package lists are fetched first when the machine has none (a fresh container). Without them those
# tests are skipped, never failed, and the test run says so in its last line.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends
APT_LISTS   = ls /var/lib/apt/lists/ 2>/dev/null | grep -q _Packages || timeout 600 apt-get update -q >/dev/null 2>&1
test-extras:
	@if [ ! -e /usr/share/postgresql/15/extension/hypopg.control ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  $(APT_LISTS); $(APT_INSTALL) postgresql-15-hypopg >/dev/null 2>&1 \
	  || echo "note: postgresql-15-hypopg could not be installed; the hypopg tests will be skipped"; fi
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  $(APT_LISTS); $(APT_INSTALL) chromium >/dev/null 2>&1 \
	  || echo "note: chromium could not be installed; the browser tests will be skipped"; fi

# The notebooks, copied to .pgvet/lab/ (outside git) with the demo report's parameters: saving one never
# dirties notebooks/. A copy you changed is kept on the next `make lab`.
lab: $(STAMP)
	$(BIN)/pgvet demo --lab .pgvet/lab
	$(BIN)/jupyter lab .pgvet/lab $(if $(filter 0,$(shell id -u)),--allow-root,)

server-stop:
	$(BIN)/pgvet server stop

clean:
	test ! -x $(BIN)/pgvet || $(BIN)/pgvet server remove
	rm -rf .pgvet
