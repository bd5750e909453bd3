# make demo | make test | make lab — each creates .venv and installs the project when needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.pgvet-installed

.PHONY: demo test lab install server-stop clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pgvet demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lab: $(STAMP)
	mkdir -p .pgvet
	$(BIN)/pgvet demo --build-only > .pgvet/demo.dsn
	PGVET_DSN="$$(cat .pgvet/demo.dsn)" $(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

server-stop:
	$(BIN)/pgvet server stop

clean:
	test ! -x $(BIN)/pgvet || $(BIN)/pgvet server remove
	rm -rf .pgvet
