"""The `parley` command line: help, config handling, migrations, keys."""
import os
import re
import subprocess

from conftest import PARLEY, ROOT, SAN_ENV, Database


def run(*args, env=None, cwd=None):
    e = dict(os.environ, **SAN_ENV)
    e.update(env or {})
    return subprocess.run([PARLEY] + list(args), capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=60)


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0
    for word in ("serve", "migrate", "apikey create --tenant", "config sample"):
        assert word in r.stdout
    assert run().returncode == 2
    assert run("--version").stdout.startswith("parley ")
    r = run("frobnicate")
    assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr


def test_sample_config_is_current():
    """docs/parley.conf.sample is generated from the option table."""
    with open(os.path.join(ROOT, "docs", "parley.conf.sample")) as f:
        assert run("config", "sample").stdout == f.read(), \
            "regenerate with: build/release/parley config sample > docs/parley.conf.sample"


def test_sample_config_loads(tmp_path):
    sample = os.path.join(ROOT, "docs", "parley.conf.sample")
    r = run("migrate", "--config", sample, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "parley.db").exists()


def test_bad_config_is_named(tmp_path):
    cfg = tmp_path / "p.conf"
    cfg.write_text("workers = 4\nhttp.listen = 127.0.0.1:99999\n")
    r = run("serve", "--config", str(cfg), cwd=str(tmp_path))
    assert r.returncode == 2
    assert "p.conf:2: http.listen: invalid value" in r.stderr
    r = run("serve", env={"PARLEY_WORKERS": "lots"}, cwd=str(tmp_path))
    assert r.returncode == 2 and "PARLEY_WORKERS" in r.stderr
    r = run("serve", "--config", str(tmp_path / "missing.conf"), cwd=str(tmp_path))
    assert r.returncode == 2 and "missing.conf" in r.stderr
    r = run("serve", "--bogus", cwd=str(tmp_path))
    assert r.returncode == 2 and "unknown option '--bogus'" in r.stderr


def test_migrate_is_idempotent(backend, tmp_path):
    db = Database(backend, str(tmp_path))
    try:
        env = {"PARLEY_DB_URL": db.url}
        r = run("migrate", env=env, cwd=str(tmp_path))
        # as many as src/store/schema.c lists
        with open(os.path.join(ROOT, "src", "store", "schema.c")) as f:
            n = len(re.findall(r'^\s*\{\d+, "', f.read(), re.M))
        assert n >= 3
        assert r.returncode == 0 and "migrations applied: %d" % n in r.stdout, r.stderr
        r = run("migrate", env=env, cwd=str(tmp_path))
        assert r.returncode == 0 and "migrations applied: 0" in r.stdout
        tables = {row[0] for row in db.sql(
            "SELECT name FROM sqlite_master WHERE type='table'" if backend == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        for t in ("tenants", "api_keys", "agents", "agent_prompt_history", "trunks",
                  "phone_numbers", "campaigns", "contacts", "call_tasks", "calls",
                  "transcripts", "call_events", "dnc", "webhooks", "webhook_outbox",
                  "schema_migrations"):
            assert t in tables
    finally:
        db.drop()


def test_apikey_create_stores_only_a_hash(backend, tmp_path):
    db = Database(backend, str(tmp_path))
    try:
        env = {"PARLEY_DB_URL": db.url}
        r = run("apikey", "create", "--tenant", "acme", "--name", "ci", env=env,
                cwd=str(tmp_path))
        assert r.returncode == 0, r.stderr
        key = r.stdout.strip()
        assert key.startswith("pk_") and len(key) == 43
        assert "shown only now" in r.stderr and key not in r.stderr
        dump = str(db.sql("SELECT * FROM api_keys"))
        assert key not in dump and key[:10] in dump
        r2 = run("apikey", "create", "--tenant", "acme", env=env, cwd=str(tmp_path))
        assert r2.stdout.strip() != key
        assert len(db.sql("SELECT id FROM tenants")) == 1
        r = run("apikey", "create", env=env, cwd=str(tmp_path))
        assert r.returncode == 2 and "--tenant" in r.stderr
    finally:
        db.drop()


def test_serve_refuses_unreachable_database(tmp_path):
    r = run("serve", env={"PARLEY_DB_URL": "postgresql://nobody@127.0.0.1:1/x",
                          "PARLEY_HTTP_LISTEN": "127.0.0.1:0"}, cwd=str(tmp_path))
    assert r.returncode == 1 and "cannot open the database" in r.stderr
