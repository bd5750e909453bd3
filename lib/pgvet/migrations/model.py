"""The schema the migrations meant: replayed statement by statement from the parsed files."""
from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

CANONICAL = {"int2": "smallint", "smallint": "smallint", "smallserial": "smallint", "serial2": "smallint",
             "int4": "integer", "int": "integer", "integer": "integer", "serial": "integer", "serial4": "integer",
             "int8": "bigint", "bigint": "bigint", "bigserial": "bigint", "serial8": "bigint",
             "bool": "boolean", "boolean": "boolean", "float8": "double precision", "float4": "real",
             "timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone",
             "timetz": "time with time zone", "time": "time without time zone", "varchar": "character varying",
             "bpchar": "character", "char": "character", "numeric": "numeric", "decimal": "numeric",
             "text": "text", "uuid": "uuid", "date": "date", "jsonb": "jsonb", "json": "json", "bytea": "bytea",
             "inet": "inet", "interval": "interval"}
CATEGORY = {"smallint": "int", "integer": "int", "bigint": "int", "text": "string", "character varying": "string",
            "character": "string", "numeric": "numeric", "real": "float", "double precision": "float"}


def type_name(node: ast.TypeName | None) -> str:
    """The type as format_type() prints it, for the types migrations use; other names as written."""
    if node is None:
        return "unknown"
    raw = node.names[-1].sval.lower()
    name = CANONICAL.get(raw, raw)
    mods = [m.val.ival for m in node.typmods or () if isinstance(m, ast.A_Const) and hasattr(m.val, "ival")]
    if mods and name in ("character varying", "character", "numeric"):
        name += f"({','.join(str(m) for m in mods)})"
    return name + ("[]" if node.arrayBounds else "")


def base(type_: str) -> str:
    return type_.split("(")[0]


def comparable(a: str, b: str) -> bool:
    """Whether `=` exists between the two types (same type, or the same family)."""
    a, b = base(a), base(b)
    return a == b or (CATEGORY.get(a) is not None and CATEGORY.get(a) == CATEGORY.get(b))


def qualified(rv: ast.RangeVar) -> str:
    return f"{rv.schemaname or 'public'}.{rv.relname}"


@dataclass
class ForeignKey:
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    where: str             # file:line
    not_valid: bool = False


@dataclass
class Index:
    table: str
    columns: tuple[str, ...]
    name: str | None
    where: str


@dataclass
class Model:
    """Tables (qualified name -> {column: type}), primary keys, foreign keys, indexes, and where each
    table was created (so a rule can tell an existing table from one made in the same file)."""

    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    created_in: dict[str, str] = field(default_factory=dict)
    fks: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)

    def key_of(self, table: str) -> tuple[str, ...]:
        return self.primary_keys.get(table, ())

    def apply(self, node, where: str, file: str) -> None:
        """Replay one statement's effect on the intended schema."""
        if isinstance(node, ast.CreateStmt):
            table = qualified(node.relation)
            self.tables[table] = {}
            self.created_in[table] = file
            for elt in node.tableElts or ():
                if isinstance(elt, ast.ColumnDef):
                    self.tables[table][elt.colname] = type_name(elt.typeName)
                    for con in elt.constraints or ():
                        self._constraint(table, con, (elt.colname,), where)
                elif isinstance(elt, ast.Constraint):
                    self._constraint(table, elt, None, where)
        elif isinstance(node, ast.AlterTableStmt) and node.relation:
            table = qualified(node.relation)
            cols = self.tables.setdefault(table, {})
            for cmd in node.cmds or ():
                if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                    cols[cmd.def_.colname] = type_name(cmd.def_.typeName)
                    for con in cmd.def_.constraints or ():
                        self._constraint(table, con, (cmd.def_.colname,), where)
                elif cmd.subtype == AlterTableType.AT_DropColumn:
                    cols.pop(cmd.name, None)
                    self.fks = [f for f in self.fks if not (f.table == table and cmd.name in f.columns)]
                elif cmd.subtype == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
                    cols[cmd.name] = type_name(cmd.def_.typeName)
                elif cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                    self._constraint(table, cmd.def_, None, where)
                elif cmd.subtype == AlterTableType.AT_DropConstraint:
                    self.fks = [f for f in self.fks if not (f.table == table and cmd.name and
                                                            cmd.name == _fk_name(f))]
        elif isinstance(node, ast.IndexStmt) and node.relation:
            cols = tuple(p.name for p in node.indexParams if p.name)
            self.indexes.append(Index(qualified(node.relation), cols, node.idxname, where))
        elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
            for obj in node.objects:
                name = ".".join(s.sval for s in obj)
                table = name if "." in name else f"public.{name}"
                self.tables.pop(table, None)
                self.fks = [f for f in self.fks if table not in (f.table, f.ref_table)]
        elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_INDEX:
            names = {obj[-1].sval for obj in node.objects}
            self.indexes = [i for i in self.indexes if i.name not in names]
        elif isinstance(node, ast.RenameStmt) and node.relation and node.renameType == ObjectType.OBJECT_COLUMN:
            cols = self.tables.get(qualified(node.relation), {})
            if node.subname in cols:
                cols[node.newname] = cols.pop(node.subname)

    def _constraint(self, table: str, con: ast.Constraint, column: tuple[str, ...] | None, where: str) -> None:
        if con.contype == ConstrType.CONSTR_PRIMARY:
            self.primary_keys[table] = column or tuple(k.sval for k in con.keys or ())
        elif con.contype == ConstrType.CONSTR_FOREIGN:
            ref = qualified(con.pktable)
            ref_cols = tuple(a.sval for a in con.pk_attrs or ()) or self.key_of(ref)
            self.fks.append(ForeignKey(table, column or tuple(a.sval for a in con.fk_attrs or ()), ref, ref_cols,
                                       where, bool(con.skip_validation)))


def _fk_name(fk: ForeignKey) -> str:
    return f"{fk.table.split('.')[-1]}_{'_'.join(fk.columns)}_fkey"
