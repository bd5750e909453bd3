"""One redaction function for everything pgvet prints or writes."""
from pgvet.redact import redact, remember_secret


def test_conninfo_url_and_env_passwords_are_masked():
    assert "s3cr3t" not in redact("host=db password=s3cr3t user=x")
    assert "s3cr3t" not in redact("host=db password='s3 cr3t' user=x").replace("s3 cr3t", "s3cr3t")
    assert redact("postgresql://alice:s3cr3t@db:5432/app") == "postgresql://alice:********@db:5432/app"
    assert "s3cr3t" not in redact('PGPASSWORD=s3cr3t and {"password": "s3cr3t"}')


def test_a_remembered_secret_is_masked_anywhere():
    remember_secret("hunter2-xyz")
    assert redact("error near hunter2-xyz in text") == "error near ******** in text"


def test_text_without_secrets_is_unchanged():
    text = "host=db port=5432 dbname=app user=alice"
    assert redact(text) == text


def test_sql_passwords_are_masked():
    assert redact("CREATE ROLE a LOGIN PASSWORD 'it''s s3cr3t'") == "CREATE ROLE a LOGIN PASSWORD '********'"
    assert "s3cr3t" not in redact("ALTER USER MAPPING FOR x SERVER y OPTIONS (SET password 's3cr3t')")
    assert "s3cr3t" not in redact("ALTER ROLE a ENCRYPTED PASSWORD $q$s3cr3t$q$")
