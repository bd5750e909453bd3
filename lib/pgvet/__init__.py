"""pgvet: a PostgreSQL audit kit — checks in queries/, notebooks in notebooks/, reports in reports/."""
__version__ = "0.1.0"
