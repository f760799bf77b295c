# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing.
.PHONY: run test bench soak stop lock deps

run:
	@bash scripts/bootstrap.sh run

test:
	@bash scripts/bootstrap.sh test

bench:
	@bash scripts/bootstrap.sh bench

# The portal under constant load (default 10 minutes at 50 requests/s; SOAK_SECONDS, SOAK_RATE; BENCH_SMOKE=1: seconds).
soak:
	@bash scripts/bootstrap.sh bench soak

# Stops the project-private PostgreSQL cluster under var/.
stop:
	@bash scripts/bootstrap.sh stop

deps:
	@bash scripts/bootstrap.sh deps

# Re-pin Python dependencies after editing requirements.in.
lock:
	python3 -m venv /tmp/gisportal-lock && /tmp/gisportal-lock/bin/pip install -q -r requirements.in \
	  && /tmp/gisportal-lock/bin/pip freeze --exclude-editable > requirements.lock && rm -rf /tmp/gisportal-lock
