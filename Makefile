# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing.
.PHONY: run test bench stop lock deps

run:
	@bash scripts/bootstrap.sh run

test:
	@bash scripts/bootstrap.sh test

bench:
	@bash scripts/bootstrap.sh bench

# Stops the project-private PostgreSQL cluster under var/.
stop:
	@bash scripts/bootstrap.sh stop

deps:
	@bash scripts/bootstrap.sh deps

# Re-pin Python dependencies after editing requirements.in.
lock:
	python3 -m venv /tmp/gisportal-lock && /tmp/gisportal-lock/bin/pip install -q -r requirements.in \
	  && /tmp/gisportal-lock/bin/pip freeze --exclude-editable > requirements.lock && rm -rf /tmp/gisportal-lock
