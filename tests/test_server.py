"""The embedded server launcher: extensions, restart reuse, status."""
import psycopg

from pgvet.server import EmbeddedServer


def test_server_preloads_pg_stat_statements_and_offers_pgstattuple(db):
    assert db.sql("show shared_preload_libraries") == [("pg_stat_statements",)]
    db.sql("CREATE EXTENSION pgstattuple")
    db.sql("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)")
    assert db.sql("SELECT tuple_count FROM pgstattuple('t')") == [(100,)]


def test_server_listens_on_tcp_and_unix_socket(server):
    for dsn in (server.dsn(), f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"):
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


def test_restart_reuses_the_data_directory(tmp_path):
    srv = EmbeddedServer(tmp_path / "srv")
    info = srv.start()
    try:
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        assert srv.stop() is True
        assert srv.status() is None
        again = srv.start()
        assert again.port == info.port
        with psycopg.connect(again.dsn()) as conn:
            assert conn.execute("select v from kept").fetchone() == ("still here",)
    finally:
        srv.stop()
    assert srv.stop() is False
    srv.remove()
    assert not srv.base_dir.exists()
