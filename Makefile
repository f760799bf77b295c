# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing.
.PHONY: run test bench soak stop lock deps cluster cluster-stop backup restore

run:
	@bash scripts/bootstrap.sh run

test:
	@bash scripts/bootstrap.sh test

bench:
	@bash scripts/bootstrap.sh bench

# The portal under constant load (default 10 minutes at 50 requests/s; SOAK_SECONDS, SOAK_RATE; BENCH_SMOKE=1: seconds).
soak:
	@bash scripts/bootstrap.sh bench soak

# The multi-node shape on one machine: Varnish front :8080, gunicorn nodes :8081 :8082, the job worker, the
# primary :54329 and its streaming replica :54331, Redis (GISPORTAL_FRONT_PORT, GISPORTAL_NODE_PORTS,
# GISPORTAL_PG_PORT, GISPORTAL_REPLICA_PORT move them). `make cluster-stop` stops all of it.
cluster:
	@bash scripts/bootstrap.sh cluster

cluster-stop:
	@bash scripts/bootstrap.sh cluster-stop

# A base backup of the private cluster into var/backup (WAL archived from then on); LABEL=name to tag it.
backup:
	@LABEL="$(LABEL)" bash scripts/bootstrap.sh backup

# Restores var/pgdata from var/backup to TARGET_TIME (default: the end of the archive); the old folder is kept aside.
restore:
	@TARGET_TIME="$(TARGET_TIME)" bash scripts/bootstrap.sh restore

# Stops the project-private PostgreSQL cluster under var/.
stop:
	@bash scripts/bootstrap.sh stop

deps:
	@bash scripts/bootstrap.sh deps

# Re-pin Python dependencies after editing requirements.in.
lock:
	python3 -m venv /tmp/gisportal-lock && /tmp/gisportal-lock/bin/pip install -q -r requirements.in \
	  && /tmp/gisportal-lock/bin/pip freeze --exclude-editable > requirements.lock && rm -rf /tmp/gisportal-lock
