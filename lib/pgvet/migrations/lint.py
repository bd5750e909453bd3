"""Lint rules for migration statements, checked against the schema the earlier migrations meant and,
when there is one, the live database. Rule ids follow squawk's where squawk has the rule (see
queries/migrations/migration_lint.md for the comparison); the others are pgvet's data-safety rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, DropBehavior, ObjectType, TransactionStmtKind

from .files import Migration, Statement
from .model import Model, base, comparable, qualified, type_name
from .rules import RULES

DESTRUCTIVE_FUNCTIONS = {"gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "random", "uuidv4", "uuidv7"}


@dataclass
class Live:
    """What the live database has: table sizes, column types, and who references which column."""

    tables: dict[str, tuple[int, int]] = field(default_factory=dict)            # table -> (rows, bytes)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)            # table -> {column: type}
    referenced_by: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)  # (t, c) -> [(t, c)]


@dataclass
class Issue:
    rule: str
    severity: str
    table: str | None
    column: str | None
    message: str

    def __post_init__(self):   # only declared rules, with a severity they declare
        if self.severity not in RULES[self.rule].severities:
            raise ValueError(f"{self.rule} is not declared {self.severity} in migrations/rules.py")


def _column_type(table: str, column: str, model: Model, live: Live) -> str | None:
    return model.tables.get(table, {}).get(column) or live.columns.get(table, {}).get(column)


def _exists(table: str, model: Model, live: Live) -> bool:
    return table in model.tables or table in live.tables


def _existing(table: str, stmt: Statement, model: Model, live: Live) -> bool:
    """Created before this migration file (so its rows and readers exist when this file runs)."""
    return _exists(table, model, live) and model.created_in.get(table) != stmt.file


def _funcs(node) -> set[str]:
    """Function names called anywhere inside an expression."""
    names = set()
    if isinstance(node, ast.FuncCall):
        names.add(node.funcname[-1].sval.lower())
    if isinstance(node, ast.Node):
        for attr in node:
            names |= _funcs(getattr(node, attr))
    elif isinstance(node, tuple):
        for item in node:
            names |= _funcs(item)
    return names


def _is_constant(node) -> bool:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const)


def _is_key_or_reference(table: str, column: str, model: Model, live: Live) -> bool:
    return (column in model.key_of(table) or column == "id" or column.endswith("_id")
            or any(table == f.table and column in f.columns or table == f.ref_table and column in f.ref_columns
                   for f in model.fks)
            or bool(live.referenced_by.get((table, column))))


def _fk_issues(table: str, columns: tuple[str, ...], con: ast.Constraint, model: Model, live: Live,
               creating: bool, stmt: Statement, own: dict[str, str] | None = None) -> list[Issue]:
    """`own`: column types defined by this very statement (CREATE TABLE, ADD COLUMN)."""
    ref = qualified(con.pktable)
    ref_cols = tuple(a.sval for a in con.pk_attrs or ()) or model.key_of(ref) or ("id",)
    issues = []
    if not _exists(ref, model, live):
        issues.append(Issue("unknown-relation", "critical", table, ", ".join(columns),
                            f"references {ref}, which neither an earlier migration nor the database has"))
    for col, ref_col in zip(columns, ref_cols):
        mine = (own or {}).get(col) or _column_type(table, col, model, live)
        theirs = (own or {}).get(ref_col) if ref == table and own else None
        theirs = theirs or _column_type(ref, ref_col, model, live)
        if mine and theirs and mine != theirs:
            if comparable(mine, theirs):
                issues.append(Issue("fk-type-mismatch", "warning", table, col,
                                    f"{col} is {mine} but {ref}.{ref_col} is {theirs}"))
            else:
                issues.append(Issue("fk-type-mismatch", "critical", table, col,
                                    f"{col} is {mine} but {ref}.{ref_col} is {theirs}: PostgreSQL rejects this foreign "
                                    "key (42804), so the relationship will not be enforced, and no join can use it"))
    if not creating and not con.skip_validation and _existing(table, stmt, model, live):
        issues.append(Issue("adding-foreign-key-constraint", "warning", table, ", ".join(columns),
                            "adds a foreign key without NOT VALID: every row is checked under a lock that blocks "
                            "writes to both tables; add it NOT VALID, then VALIDATE CONSTRAINT"))
    return issues


def _alter_table(stmt: Statement, model: Model, live: Live) -> list[Issue]:
    node = stmt.node
    table = qualified(node.relation)
    existing = _existing(table, stmt, model, live)
    issues = []
    if not _exists(table, model, live):
        return [Issue("unknown-relation", "critical", table, None,
                      f"alters {table}, which neither an earlier migration nor the database has")]
    for cmd in node.cmds or ():
        col = cmd.name
        if cmd.subtype == AlterTableType.AT_AlterColumnType:
            new = type_name(cmd.def_.typeName)
            old = _column_type(table, col, model, live)
            using = cmd.def_.raw_default
            destructive = _funcs(using) & DESTRUCTIVE_FUNCTIONS or (using is not None and _is_constant(using))
            if destructive:
                key = _is_key_or_reference(table, col, model, live)
                what = ", ".join(sorted(_funcs(using) & DESTRUCTIVE_FUNCTIONS)) or "a constant"
                issues.append(Issue("destructive-type-conversion", "critical" if key else "warning", table, col,
                                    f"converts {col} to {new} USING {what}: every row gets a value unrelated to the "
                                    "old one" + (", so every relationship through this column is lost" if key else "")))
            elif old and using is None and not comparable(old, new) and base(old) != "text":
                issues.append(Issue("type-change-without-mapping", "critical", table, col,
                                    f"changes {col} from {old} to {new} with no USING: there is no cast, the statement "
                                    "fails; it needs an explicit mapping (through a legacy key), not a new value"))
            elif existing and not _no_rewrite(old, new):
                issues.append(Issue("changing-column-type", "warning", table, col,
                                    f"changes {col} to {new}: rewrites the table and its indexes under ACCESS EXCLUSIVE"))
        elif cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            con = cmd.def_
            if con.contype == ConstrType.CONSTR_FOREIGN:
                issues += _fk_issues(table, tuple(a.sval for a in con.fk_attrs or ()), con, model, live, False, stmt)
            elif con.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not con.indexname \
                    and existing:
                issues.append(Issue("disallowed-unique-constraint", "warning", table, ", ".join(
                    k.sval for k in con.keys or ()), "adds a UNIQUE or PRIMARY KEY constraint that builds its index "
                    "under ACCESS EXCLUSIVE; CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … USING INDEX"))
            elif con.contype == ConstrType.CONSTR_CHECK and not con.skip_validation and existing:
                issues.append(Issue("constraint-missing-not-valid", "warning", table, None,
                                    "adds a CHECK without NOT VALID: every row is checked under ACCESS EXCLUSIVE"))
        elif cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            cons = cmd.def_.constraints or ()
            not_null = any(c.contype == ConstrType.CONSTR_NOTNULL for c in cons)
            default = any(c.contype in (ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY,
                                        ConstrType.CONSTR_GENERATED) for c in cons)
            if not_null and not default and existing:
                issues.append(Issue("adding-required-field", "warning", table, cmd.def_.colname,
                                    f"adds {cmd.def_.colname} NOT NULL without a default: fails on a table with rows"))
            for con in cons:
                if con.contype == ConstrType.CONSTR_FOREIGN:
                    issues += _fk_issues(table, (cmd.def_.colname,), con, model, live, False, stmt,
                                         {cmd.def_.colname: type_name(cmd.def_.typeName)})
        elif cmd.subtype == AlterTableType.AT_SetNotNull and existing:
            issues.append(Issue("adding-not-nullable-field", "warning", table, col,
                                f"SET NOT NULL on {col} scans the table under ACCESS EXCLUSIVE; add CHECK ({col} IS NOT "
                                "NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ skips the scan)"))
        elif cmd.subtype == AlterTableType.AT_DropColumn:
            users = [f"{t}.{c}" for t, c in live.referenced_by.get((table, col), [])] + [
                f"{f.table}.{', '.join(f.columns)}" for f in model.fks if f.ref_table == table and col in f.ref_columns]
            if users:
                issues.append(Issue("drop-referenced-column", "critical", table, col,
                                    f"drops {col}, which {', '.join(sorted(set(users)))} refer to"))
            else:
                issues.append(Issue("ban-drop-column", "warning", table, col,
                                    f"drops {col}: its data is gone, and running code that still reads it breaks"))
    return issues


def _no_rewrite(old: str | None, new: str) -> bool:
    """varchar(n) -> varchar(m >= n) or text, and varchar -> text: binary-coercible, no rewrite."""
    if not old or base(old) not in ("character varying", "text") or base(new) not in ("character varying", "text"):
        return False
    if base(new) == "text" or "(" not in new:
        return True
    return "(" in old and base(old) == "character varying" and int(new[new.index("(") + 1:-1]) >= int(old[old.index("(") + 1:-1])


def check_statement(stmt: Statement, model: Model, live: Live, in_transaction: bool, tool: str) -> list[Issue]:
    """Every rule for one statement, against the schema before it."""
    node = stmt.node
    if isinstance(node, ast.AlterTableStmt) and node.relation and node.objtype == ObjectType.OBJECT_TABLE:
        return _alter_table(stmt, model, live)
    if isinstance(node, ast.CreateStmt):
        table = qualified(node.relation)
        own = {e.colname: type_name(e.typeName) for e in node.tableElts or () if isinstance(e, ast.ColumnDef)}
        issues = []
        for elt in node.tableElts or ():
            if isinstance(elt, ast.ColumnDef):
                for con in elt.constraints or ():
                    if con.contype == ConstrType.CONSTR_FOREIGN:
                        issues += _fk_issues(table, (elt.colname,), con, model, live, True, stmt, own)
            elif isinstance(elt, ast.Constraint) and elt.contype == ConstrType.CONSTR_FOREIGN:
                issues += _fk_issues(table, tuple(a.sval for a in elt.fk_attrs or ()), elt, model, live, True, stmt,
                                     own)
        return issues
    if isinstance(node, ast.IndexStmt) and node.relation:
        table = qualified(node.relation)
        if not _exists(table, model, live):
            return [Issue("unknown-relation", "critical", table, None,
                          f"creates an index on {table}, which neither an earlier migration nor the database has")]
        known = set(model.tables.get(table, {})) | set(live.columns.get(table, {}))
        missing = [p.name for p in node.indexParams if p.name and known and p.name not in known]
        if missing:
            return [Issue("unknown-relation", "critical", table, ", ".join(missing),
                          f"indexes {', '.join(missing)}, which {table} does not have")]
        if node.concurrent and (in_transaction or tool == "drizzle"):
            why = "Drizzle runs each migration in a transaction" if tool == "drizzle" else "inside BEGIN ... COMMIT"
            return [Issue("concurrently-in-transaction", "critical", table, None,
                          f"CREATE INDEX CONCURRENTLY cannot run in a transaction block ({why}): the statement fails")]
        if not node.concurrent and _existing(table, stmt, model, live):
            return [Issue("require-concurrent-index-creation", "warning", table, None,
                          "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds")]
        return []
    if isinstance(node, ast.DropStmt):
        names = [".".join(s.sval for s in obj) if isinstance(obj, tuple) else str(obj) for obj in node.objects or ()]
        if node.removeType == ObjectType.OBJECT_INDEX:
            if node.concurrent and (in_transaction or tool == "drizzle"):
                return [Issue("concurrently-in-transaction", "critical", None, None,
                              "DROP INDEX CONCURRENTLY cannot run in a transaction block: the statement fails")]
            if not node.concurrent:
                return [Issue("require-concurrent-index-deletion", "warning", None, ", ".join(names),
                              "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table")]
        if node.removeType == ObjectType.OBJECT_TABLE:
            return [Issue("ban-drop-table", "warning", n if "." in n else f"public.{n}", None,
                          "drops the table and its data") for n in names]
        return []
    if isinstance(node, ast.TruncateStmt) and node.behavior == DropBehavior.DROP_CASCADE:
        return [Issue("ban-truncate-cascade", "warning", qualified(r), None,
                      "TRUNCATE ... CASCADE also empties every table that references it") for r in node.relations]
    if isinstance(node, ast.DropdbStmt):
        return [Issue("ban-drop-database", "critical", None, None, f"drops the database {node.dbname}")]
    if isinstance(node, ast.RenameStmt) and node.relation:
        kind = {ObjectType.OBJECT_COLUMN: "renaming-column", ObjectType.OBJECT_TABLE: "renaming-table"}.get(
            node.renameType)
        if kind and _existing(qualified(node.relation), stmt, model, live):
            return [Issue(kind, "warning", qualified(node.relation), node.subname,
                          f"renames {node.subname or node.relation.relname} to {node.newname}: running code that uses "
                          "the old name breaks until it is deployed")]
    return []


def lint(migrations: list[Migration], live: Live) -> tuple[list[tuple[Statement, Issue]], Model]:
    """Every issue of every statement, in apply order; and the intended schema at the end."""
    model, found = Model(), []
    for migration in migrations:
        in_transaction = False
        for stmt in migration.statements:
            if isinstance(stmt.node, ast.TransactionStmt):
                in_transaction = stmt.node.kind in (TransactionStmtKind.TRANS_STMT_BEGIN,
                                                    TransactionStmtKind.TRANS_STMT_START)
                continue
            # structure.sql is the intended end state, not a step applied to live rows: no lint
            issues = [] if migration.tool == "structure" else check_statement(stmt, model, live, in_transaction,
                                                                              migration.tool)
            found += [(stmt, issue) for issue in issues]
            if not any(i.rule == "unknown-relation" for i in issues):  # it failed: it changed nothing
                model.apply(stmt.node, f"{stmt.file}:{stmt.line}", stmt.file)
    return found, model

