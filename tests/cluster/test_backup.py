"""The restore drill: WAL archiving + a base backup (scripts/backup.sh, what `make backup` / `make restore` run),
then a point-in-time restore into a fresh folder, swapped in place; counts and checksums of features and history
must be those noted at the target time. On a throw-away cluster of its own (never the shared one)."""
import psycopg2
import pytest

from tests.faults.cluster import Cluster, manage, pg_bindir, portal_env


def _query(cluster: Cluster, sql: str) -> list[tuple]:
    with psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="gp_faults") as conn:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
    conn.close()
    return rows


def _execute(cluster: Cluster, sql: str) -> None:
    conn = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="gp_faults")
    with conn, conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def _state(cluster: Cluster) -> dict:
    """Counts and an md5 of every feature row and every history row, in id order."""
    features = _query(cluster, "SELECT count(*), md5(string_agg(id || ':' || version || ':' || md5(ST_AsEWKB(geom)) "
                               "|| ':' || properties::text, ',' ORDER BY id)) FROM layers_feature")[0]
    history = _query(cluster, "SELECT count(*), md5(string_agg(v::text, ',' ORDER BY v.id)) "
                              "FROM layers_featureversion v")[0]
    return {"features": features, "history": history}


@pytest.fixture
def drill(tmp_path):
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL with PostGIS under /usr/lib/postgresql (scripts/bootstrap.sh installs it)")
    cluster = Cluster(bindir)
    backup_dir = cluster.root / "backup"
    try:
        configured = cluster.backup_script(backup_dir, "configure-archive")
        assert configured.returncode == 0, configured.stderr
        cluster.start()
        cluster.createdb()
        env = portal_env(cluster.url, tmp_path)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "make_demo_city", "--parcels", "100", "--seed", "7")
        yield cluster, backup_dir
    finally:
        cluster.remove()


def _parcels_edit(cluster: Cluster, note: str, modulo: int) -> None:
    """Changes some parcels' properties through SQL (the history triggers record every version)."""
    _execute(cluster, f"UPDATE layers_feature SET properties = properties || jsonb_build_object('drill', '{note}') "
                      f"WHERE layer_id = (SELECT id FROM layers_layer WHERE slug = 'parcels') AND id % {modulo} = 0")


def test_point_in_time_restore_gives_back_the_noted_state(drill):
    cluster, backup_dir = drill
    made = cluster.backup_script(backup_dir, "backup", "drill")
    assert made.returncode == 0, made.stderr
    assert any((backup_dir / "base").glob("*-drill/backup_label")), "the base backup is where it says"

    _parcels_edit(cluster, "before the target", 3)
    noted = _state(cluster)
    target = _query(cluster, "SELECT clock_timestamp()::text")[0][0]
    _parcels_edit(cluster, "after the target", 2)
    _execute(cluster, "DELETE FROM layers_feature WHERE id IN (SELECT id FROM layers_feature ORDER BY id DESC LIMIT 5)")
    changed = _state(cluster)
    assert changed != noted and changed["features"][0] == noted["features"][0] - 5

    restored = cluster.backup_script(backup_dir, "restore", target)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    cluster.start()
    assert _state(cluster) == noted
    assert not _query(cluster, "SELECT pg_is_in_recovery()")[0][0], "the restored cluster is promoted"
    aside = list(cluster.data.parent.glob(f"{cluster.data.name}.before-restore-*"))
    assert len(aside) == 1 and (aside[0] / "PG_VERSION").exists(), "the old data folder is kept aside"
    # Promoted on a new timeline, so its WAL never mixes with the old history's in the archive.
    assert _query(cluster, "SELECT timeline_id FROM pg_control_checkpoint()")[0][0] > 1
    _parcels_edit(cluster, "after the restore", 5)
    assert _state(cluster) != noted, "the restored cluster takes writes"


def test_refused_restores_say_why_and_touch_nothing(drill):
    cluster, backup_dir = drill
    nothing = cluster.backup_script(backup_dir, "restore")
    assert nothing.returncode != 0 and "make backup" in nothing.stderr
    assert cluster.backup_script(backup_dir, "backup", "drill").returncode == 0
    before = _state(cluster)
    for target, words in [("not a time", "TARGET_TIME 'not a time' is not a time"),
                          ("2999-01-01 00:00:00+00", "in the future"),
                          ("2001-01-01 00:00:00+00", "no base backup")]:
        refused = cluster.backup_script(backup_dir, "restore", target)
        assert refused.returncode != 0 and words in refused.stderr, (target, refused.stderr)
    bad_label = cluster.backup_script(backup_dir, "backup", "x; rm -rf /")
    assert bad_label.returncode != 0 and "LABEL" in bad_label.stderr
    assert _state(cluster) == before and _query(cluster, "SELECT 1") == [(1,)], "the running cluster was not touched"
    assert not list(cluster.data.parent.glob(f"{cluster.data.name}.before-restore-*"))


def test_backup_refuses_a_cluster_that_does_not_archive():
    # Started without the archiving settings (a primary not restarted since they came): a base backup would have
    # no WAL after it, so none is taken and the message says how to fix it.
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL with PostGIS under /usr/lib/postgresql")
    cluster = Cluster(bindir)
    try:
        cluster.start()
        refused = cluster.backup_script(cluster.root / "backup", "backup", "drill")
        assert refused.returncode != 0 and "does not archive WAL" in refused.stderr and "restart" in refused.stderr
        assert not list((cluster.root / "backup").glob("base/*")), "no base backup was left behind"
    finally:
        cluster.remove()
