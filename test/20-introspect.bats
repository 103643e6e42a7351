#!/usr/bin/env bats
# test/20-introspect.bats: the introspect stage: SQLite databases and
# Rails schema.rb files to JSON Lines records (sluice-records(5)).
# Counts are checked against sqlite3's own PRAGMAs (computed here) and,
# for schema.rb, against counts derived with grep and kept below.
load helper

DATA="$ROOT/test/data/schemas"
RB="$ROOT/test/data/rb"
BAD="$ROOT/test/bad-introspect"
export PATH="$ROOT/libexec/sluice:$PATH"

# counts KIND: "tables columns foreign_keys" of the records on stdin
counts() {
	jq -rs '[map(select(.kind == "table")) | length,
	    ([.[] | select(.kind == "table") | .columns | length] | add // 0),
	    ([.[] | select(.kind == "table") | .foreign_keys | length] | add // 0)]
	    | map(tostring) | join(" ")'
}

# the same counts from sqlite3 itself: user tables that are neither
# virtual nor shadow tables, their columns, their foreign keys
sqlite_counts() {
	sqlite3 "$1" "
	    WITH t AS (SELECT name FROM pragma_table_list
	        WHERE schema = 'main' AND type = 'table'
	        AND name NOT LIKE 'sqlite_%')
	    SELECT (SELECT count(*) FROM t) || ' ' ||
	        (SELECT count(*) FROM t, pragma_table_xinfo(t.name) x
	            WHERE x.hidden != 1) || ' ' ||
	        (SELECT count(DISTINCT t.name || '.' || f.id)
	            FROM t, pragma_foreign_key_list(t.name) f);"
}

check_sqlite() {
	run --separate-stderr introspect "$DATA/$1"
	assert_success
	assert_equal "$stderr" ''
	local want
	want=$(sqlite_counts "$DATA/$1")
	assert_equal "$(printf '%s\n' "$output" | counts)" "$want"
}

check_rb() {
	run --separate-stderr introspect "$DATA/$1"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | counts)" "$2"
}

@test "introspect-1.1: --usage prints the synopsis" {
	run introspect --usage
	assert_success
	assert_output "usage: sluice introspect [--strict] [--views] [--from sqlite | schemarb | sql | postgres]
                         [--schema name[,name ...]] source"
}

@test "introspect-1.2: no source is a usage error" {
	run -64 --separate-stderr introspect
	assert_output ''
	assert_equal "$stderr" "usage: sluice introspect [--strict] [--views] [--from sqlite | schemarb | sql | postgres]
                         [--schema name[,name ...]] source"
}

@test "introspect-1.3: an unknown --from kind is a usage error" {
	run -64 --separate-stderr introspect --from mysql x.db
	assert_output ''
	assert_equal "${stderr%%$'\n'*}" \
	    "introspect: --from: unknown kind 'mysql': expected 'sqlite', 'schemarb', 'sql' or 'postgres'"
}

@test "introspect-1.4: a missing file exits 66" {
	run -66 --separate-stderr introspect nosuch.sqlite
	assert_output ''
	assert_equal "$stderr" 'introspect: nosuch.sqlite: No such file or directory'
}

@test "introspect-1.5: every record has the version and a kind" {
	for f in "$DATA"/*; do
		introspect --views "$f" | jq -e 'select(.v != 1 or (.kind |
		    IN("table", "view", "enum") | not))' > bad.jsonl || true
		assert_equal "$(cat bad.jsonl)" ''
	done
}

@test "introspect-2.1: chinook.sqlite matches sqlite3's counts" {
	check_sqlite chinook.sqlite
}

@test "introspect-2.2: northwind.sqlite matches sqlite3's counts" {
	check_sqlite northwind.sqlite
}

@test "introspect-2.3: sakila.sqlite matches sqlite3's counts" {
	check_sqlite sakila.sqlite
}

@test "introspect-2.4: chinook.sqlite gives the golden records" {
	cd "$DATA"
	run --separate-stderr introspect chinook.sqlite
	assert_success
	assert_equal "$stderr" ''
	printf '%s\n' "$output" | golden introspect-chinook
}

@test "introspect-2.5: views only with --views" {
	run introspect "$DATA/northwind.sqlite"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -s 'map(select(.kind == "view")) | length')" 0
	run introspect --views "$DATA/northwind.sqlite"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -s 'map(select(.kind == "view")) | length')" 16
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.name == "Order Subtotals") | [.kind, (.columns | map(.name) | join(","))] | join(" ")')" \
	    'view OrderID,Subtotal'
}

# a database with what Rails and hand-written SQLite schemas declare
make_db() {
	sqlite3 t.db <<'EOF'
CREATE TABLE "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
  "email" varchar(255) COLLATE NOCASE NOT NULL,
  "admin" boolean DEFAULT 0 NOT NULL, "score" decimal(10,2) DEFAULT 1.5,
  "born_on" date, "seen_at" datetime(6) DEFAULT CURRENT_TIMESTAMP,
  "prefs" json DEFAULT '{}', "bio" text DEFAULT 'it''s me',
  "email_lower" varchar GENERATED ALWAYS AS (lower(email)) STORED,
  CONSTRAINT score_positive CHECK (score >= 0));
CREATE UNIQUE INDEX "index_users_on_email" ON "users" ("email");
CREATE INDEX "index_users_recent" ON "users" ("seen_at" DESC) WHERE admin = 1;
CREATE INDEX "index_users_lower" ON "users" (lower(email));
CREATE TABLE [Order Items] ([Order Id] INTEGER NOT NULL,
  [Line] INTEGER NOT NULL, [User] INTEGER REFERENCES users ON DELETE CASCADE,
  PRIMARY KEY ([Order Id], [Line]));
CREATE VIRTUAL TABLE notes_fts USING fts5(body);
CREATE VIEW admins AS SELECT id, email FROM users WHERE admin;
EOF
}

@test "introspect-2.6: SQLite types, keys, indexes and checks" {
	make_db
	run --separate-stderr introspect t.db
	assert_success
	assert_equal "$stderr" ''
	printf '%s\n' "$output" | jq -c '{name, primary_key,
	    columns: [.columns[] | [.name, .type, .sql_type, .null, .default,
	        .default_expr, .limit, .precision, .scale, .auto_increment,
	        .collation, .generated]],
	    indexes: [.indexes[] | [.name, .columns, .expr, .unique, .where,
	        .order]],
	    foreign_keys: [.foreign_keys[] | [.columns, .to_table,
	        .to_columns, .on_delete]],
	    checks: [.checks[] | [.name, .expr]]}' | golden introspect-2.6
}

@test "introspect-2.7: FTS5 virtual and shadow tables are skipped" {
	make_db
	run introspect t.db
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .name | tr '\n' ' ')" \
	    'users Order Items '
}

@test "introspect-2.8: the database is opened read-only and never written" {
	make_db
	chmod 0444 t.db
	sum=$(cksum < t.db)
	run introspect t.db
	assert_success
	assert_equal "$(cksum < t.db)" "$sum"
	assert_equal "$(ls)" 't.db'
}

@test "introspect-2.9: a SQLite database on stdin, or named by a path that is a pipe" {
	make_db
	run --separate-stderr introspect - < t.db
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .source.file | sort -u)" 'stdin'
	assert_equal "$(printf '%s\n' "$output" | counts)" "$(sqlite_counts t.db)"
	# a pipe cannot be opened again: read whole, as stdin
	run -0 --separate-stderr sh -c 'cat t.db | introspect /dev/stdin'
	assert_equal "$(printf '%s\n' "$output" | jq -c 'del(.source)')" \
	    "$(introspect t.db | jq -c 'del(.source)')"
	assert_equal "$(printf '%s\n' "$output" | jq -r .source.file | sort -u)" '/dev/stdin'
	# a device is not read to an end it does not have
	run -65 --separate-stderr timeout 20 introspect /dev/zero
	assert_equal "$stderr" "introspect: /dev/zero:1:1: expected a SQLite database, a Rails schema.rb or a PostgreSQL structure.sql"
}

@test "introspect-2.10: SQLite foreign key names come from the CREATE TABLE text" {
	sqlite3 t.db <<'EOF'
CREATE TABLE a (id INTEGER PRIMARY KEY, x INT, y INT, UNIQUE (x, y));
CREATE TABLE b (id INTEGER PRIMARY KEY,
  a_id INT CONSTRAINT "fk b->a" REFERENCES a (id) ON DELETE CASCADE,
  c_id INT CONSTRAINT c_nn NOT NULL REFERENCES a,
  "X" INT, [Y] INT,
  w INT REFERENCES a (id),
  CONSTRAINT [fk_xy] FOREIGN KEY ("x", y) REFERENCES a (x, y),
  FOREIGN KEY (w) REFERENCES a (id),
  constraint fk_last foreign key (a_id) references "a" ("id")
    ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT ck CHECK (w <> 'REFERENCES'));
CREATE TABLE c (id INTEGER PRIMARY KEY, b_id INT REFERENCES b);
CREATE TABLE d (id INTEGER PRIMARY KEY);
EOF
	run --separate-stderr introspect t.db
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.name == "b" or .name == "c") | .name as $t | .foreign_keys[] | "\($t) \(.name) \(.columns | join(",")) \(.to_table) \(.to_columns | join(",")) \(.on_delete) \(.on_update)"')" \
	    'b fk b->a a_id a id cascade null
b null c_id a id null null
b null w a id null null
b fk_xy X,Y a x,y null null
b null w a id null null
b fk_last a_id a id null nullify
c null b_id b id null null'
	# the same keys, in the same order, as sqlite3's pragma
	assert_equal "$(printf '%s\n' "$output" | jq -r '.name as $t | .foreign_keys[] | "\($t) \(.columns | join(","))"')" \
	    "$(sqlite3 t.db "SELECT m.name, group_concat(f.\"from\", ',')
	        FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
	        WHERE m.type = 'table' GROUP BY m.name, f.id
	        ORDER BY m.rowid, f.id DESC" | tr '|' ' ')"
}

@test "introspect-2.10b: a foreign key to a later table gets its primary key; records stay in schema order" {
	# records are written table by table as they are read: a key
	# without columns to a table further on reads that table first
	# (here one read through the pragmas: WITHOUT ROWID), then its
	# record still comes in its own place
	sqlite3 t.db <<'EOF'
CREATE TABLE a (id INTEGER PRIMARY KEY, b_ref TEXT REFERENCES b,
  me INT REFERENCES a, gone INT REFERENCES nowhere);
CREATE TABLE b (code TEXT, n INT, x INT REFERENCES c,
  PRIMARY KEY (code, n)) WITHOUT ROWID;
CREATE TABLE c (k INTEGER PRIMARY KEY);
EOF
	run --separate-stderr introspect t.db
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | jq -r '.name as $t | "\($t): " + ([.foreign_keys[] | "\(.columns | join(",")) -> \(.to_table)(\(.to_columns | join(",")))"] | join(" "))')" \
	    'a: b_ref -> b(code,n) me -> a(id) gone -> nowhere()
b: x -> c(k)
c: '
	# --strict reads everything before it writes: the same records
	run --separate-stderr introspect --strict t.db
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -c .name | tr '\n' ' ')" \
	    '"a" "b" "c" '
}

@test "introspect-2.11: index columns read from CREATE INDEX equal sqlite3's pragma" {
	sqlite3 t.db <<'EOF'
CREATE TABLE t ("Id" INTEGER PRIMARY KEY, "Na""me" TEXT, [b c] INT, `d` INT,
  e TEXT UNIQUE, f INT, UNIQUE (f, d));
CREATE INDEX i1 ON t ("na""ME" COLLATE NOCASE DESC, [B C] ASC);
CREATE UNIQUE INDEX i2 ON t (D, `E` DESC, id);
CREATE INDEX i4 ON t (f + 1, d);
CREATE INDEX i5 ON t ('f') WHERE d > 0;
EOF
	run --separate-stderr introspect t.db
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | jq -r '.indexes[] | "\(.name) \(.unique) \(.columns // [] | join(",")) \(.expr) \(.order // {} | keys | join(","))"')" \
	    'sqlite_autoindex_t_1 true e null 
sqlite_autoindex_t_2 true f,d null 
i1 false Na"me,b c null Na"me
i2 true d,e,Id null e
i4 false  f + 1, d 
i5 false f null '
	assert_equal "$(printf '%s\n' "$output" | jq -r '.indexes[] | select(.expr == null) | "\(.name) \(.columns | join(","))"')" \
	    "$(sqlite3 t.db "SELECT m.name, group_concat(coalesce(x.name, 'rowid'), ',')
	        FROM sqlite_schema m, pragma_index_xinfo(m.name) x
	        WHERE m.type = 'index' AND x.key GROUP BY m.name
	        HAVING min(x.cid) > -2 ORDER BY m.rowid" | tr '|' ' ')"
}

@test "introspect-2.12: columns, keys and foreign keys read from CREATE TABLE equal sqlite3's pragmas" {
	sqlite3 t.db <<'EOF'
CREATE TABLE p (id INTEGER PRIMARY KEY, k TEXT UNIQUE, a INT, b INT, UNIQUE (a, b));
CREATE TABLE t1 ("Id" Integer NOT NULL PRIMARY KEY DESC,
  [Na me] VARCHAR ( 20 )  NOT  NULL DEFAULT 'x' COLLATE nocase,
  `c` decimal(10, 2) DEFAULT -1.5 CHECK (c > 0), d "quoted type" DEFAULT (1 + 2),
  e UNSIGNED /* big */ BIG INT DEFAULT +3, f DATETIME DEFAULT CURRENT_TIMESTAMP,
  g BOOLEAN DEFAULT TRUE NOT NULL, i text DEFAULT "dq", j real DEFAULT - 4, k,
  l INT AS (c * 2) STORED, n INT REFERENCES p ON DELETE SET NULL ON UPDATE CASCADE,
  o INT CONSTRAINT fko REFERENCES "p" ("id") ON DELETE RESTRICT NOT DEFERRABLE,
  q1 INT, q2 INT, r any, s Int DEFAULT 0x1F, u json DEFAULT '{}' NOT NULL ON CONFLICT FAIL,
  CONSTRAINT fk_q FOREIGN KEY (Q1, q2) REFERENCES p (a, b) ON UPDATE SET DEFAULT MATCH FULL,
  FOREIGN KEY (k) REFERENCES p (k) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE t2 (a INT, b TEXT, c INT DEFAULT (datetime('now')), PRIMARY KEY (b DESC, A)) WITHOUT ROWID;
CREATE TABLE t3 (a INT, b TEXT /* c */ DEFAULT 1, -- x
  c INT, CONSTRAINT pk PRIMARY KEY (c, a) ON CONFLICT REPLACE);
CREATE TABLE t4 (x INTEGER PRIMARY KEY AUTOINCREMENT, y DOUBLE PRECISION DEFAULT (-1) /* z */,
  z NUMERIC(5) NOT NULL DEFAULT 0, w BLOB DEFAULT x'00', v INT GENERATED ALWAYS AS (x + 1));
CREATE TABLE t5 (a INT, b INT NOT NULL) STRICT;
CREATE TABLE "t 6" (id integer, p_id int references p, primary key (id));
CREATE TABLE t7 (a TEXT DEFAULT 'it''s', b TEXT DEFAULT ('x' || 'y'), c INT DEFAULT NULL,
  d INT NULL DEFAULT 1, e INT CONSTRAINT nn NOT NULL CONSTRAINT d DEFAULT 5,
  f INT CHECK (f IS NOT NULL) DEFAULT 2);
EOF
	run --separate-stderr introspect t.db
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | jq -r '.name as $t | .primary_key as $pk | .columns[] | .name as $n |
	    [$t, $n, .sql_type, (if .null then 0 else 1 end),
	     ([$pk | to_entries[] | select(.value == $n) | .key + 1] | first // 0)] | map(tostring) | join("|")')" \
	    "$(sqlite3 t.db "SELECT m.name, x.name, x.type,
	        CASE WHEN x.pk = 1 AND upper(x.type) = 'INTEGER' AND
	            (SELECT count(*) FROM pragma_table_xinfo(m.name) y
	             WHERE y.pk > 0) = 1 THEN 1 ELSE x.\"notnull\" END, x.pk
	        FROM sqlite_schema m, pragma_table_xinfo(m.name) x
	        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
	        ORDER BY m.rowid, x.cid")"
	assert_equal "$(printf '%s\n' "$output" | jq -r '.name as $t | .foreign_keys[] |
	    [$t, .name, (.columns | join(",")), .to_table, (.to_columns | join(",")), .on_update, .on_delete] |
	    map(. // "-" | tostring) | join("|")')" \
	    't1|-|n|p|id|cascade|nullify
t1|fko|o|p|id|-|restrict
t1|fk_q|q1,q2|p|a,b|set_default|-
t1|-|k|p|k|-|-
t 6|-|p_id|p|id|-|-'
	assert_equal "$(printf '%s\n' "$output" | jq -r '.name as $t | .foreign_keys[] | [$t, (.columns | join(","))] | join("|")')" \
	    "$(sqlite3 t.db "SELECT m.name, group_concat(f.\"from\", ',')
	        FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
	        WHERE m.type = 'table' GROUP BY m.name, f.id ORDER BY m.rowid, f.id DESC")"
}

@test "introspect-3.1: bos.schema.rb: 43 tables, 417 columns, 39 foreign keys" {
	check_rb bos.schema.rb "43 417 39"
}

@test "introspect-3.2: campfire.schema.rb: 15 tables, 101 columns, 10 foreign keys" {
	check_rb campfire.schema.rb "15 101 10"
}

@test "introspect-3.3: lobsters.schema.rb: 38 tables, 323 columns, 64 foreign keys" {
	check_rb lobsters.schema.rb "38 323 64"
}

@test "introspect-3.4: maybe.schema.rb: 59 tables, 574 columns, 52 foreign keys, 1 enum" {
	check_rb maybe.schema.rb "59 574 52"
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.kind == "enum") | [.name, .values]')" \
	    '["account_status",["ok","syncing","error"]]'
}

@test "introspect-3.5: openfoodnetwork.schema.rb: 93 tables, 800 columns, 120 foreign keys" {
	check_rb openfoodnetwork.schema.rb "93 800 120"
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.name == "variant_links") | .primary_key')" \
	    '["target_variant_id","source_variant_id"]'
}

@test "introspect-3.6: campfire.schema.rb gives the golden records" {
	cd "$DATA"
	run --separate-stderr introspect campfire.schema.rb
	assert_success
	assert_equal "$stderr" ''
	printf '%s\n' "$output" | golden introspect-campfire
}

@test "introspect-3.7: every construct of the issue, without a warning" {
	cd "$RB"
	run --separate-stderr introspect constructs.schema.rb
	assert_success
	assert_equal "$stderr" ''
	printf '%s\n' "$output" | golden introspect-constructs
}

@test "introspect-3.8: unknown constructs are warnings with file:line" {
	cd "$RB"
	run --separate-stderr introspect unknown.schema.rb
	assert_success
	assert_equal "$stderr" "\
introspect: unknown.schema.rb:2: create_table: unknown option 'engine', skipped
introspect: unknown.schema.rb:3: column 'title': unknown option 'shiny', skipped
introspect: unknown.schema.rb:4: unknown column type 'st_point', kept as declared
introspect: unknown.schema.rb:5: t.exclusion_constraint is not supported, skipped
introspect: unknown.schema.rb:6: unknown statement 'execute' in create_table, skipped
introspect: unknown.schema.rb:7: expected a value, found 'BigDecimal', statement skipped
introspect: unknown.schema.rb:13: add_index: unknown table 'comments', skipped
introspect: unknown.schema.rb:14: foreign key of 'posts': no column 'user_id'
introspect: unknown.schema.rb:15: unknown statement 'change_column_default', skipped"
	assert_equal "$(printf '%s\n' "$output" | jq -c '[.name, [.columns[].name]]')" \
	    '["posts",["id","title","where"]]'
}

@test "introspect-3.9: --strict makes warnings fatal" {
	cd "$RB"
	run -65 --separate-stderr introspect --strict unknown.schema.rb
	assert_output ''
	assert_equal "${stderr##*$'\n'}" 'introspect: unknown.schema.rb: 9 warnings with --strict'
}

@test "introspect-3.10: the old define header with hash rockets" {
	run --separate-stderr introspect "$RB/old.schema.rb"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | jq -c '[.name, .primary_key,
	    [.columns[] | .name + ":" + .type], [.indexes[].name],
	    [.foreign_keys[] | .columns[0] + ">" + .to_table]]')" \
'["users",["id"],["id:bigint","email:string","admin:boolean","created_at:datetime"],["index_users_on_email"],[]]
["people_tags",[],["person_id:integer","tag_id:integer"],[],[]]
["people",["id"],["id:bigint","user_id:bigint","created_at:datetime","updated_at:datetime"],["index_people_on_user_id"],["user_id>users"]]'
}

@test "introspect-3.11: foreign keys at the end attach to their tables in order" {
	run introspect "$DATA/campfire.schema.rb"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.name == "messages") | .foreign_keys[] | "\(.columns) \(.to_table) \(.to_columns)"')" \
'["room_id"] rooms ["id"]
["creator_id"] users ["id"]'
}

@test "introspect-3.12: the kind comes from the content, --from forces it" {
	cp "$DATA/campfire.schema.rb" schema.txt
	run introspect schema.txt
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 15
	run -65 --separate-stderr introspect --from sqlite schema.txt
	assert_output ''
	assert_equal "$stderr" "introspect: schema.txt: not a SQLite database: expected the header 'SQLite format 3'"
}

@test "introspect-3.13: a schema.rb on stdin" {
	run --separate-stderr introspect - < "$DATA/lobsters.schema.rb"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | counts)" "38 323 64"
	assert_equal "$(printf '%s\n' "$output" | jq -r '.source.file' | sort -u)" stdin
}

@test "introspect-3.14: FTS5 virtual tables of schema.rb are not tables" {
	run introspect "$DATA/lobsters.schema.rb"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.name | test("fts")) | .name')" ''
}

@test "introspect-4.1: every file of the bad-input corpus is refused with its line" {
	cd "$BAD"
	for f in *; do
		case $f in *.err) continue ;; esac
		run -65 --separate-stderr introspect "$f"
		assert_output ''
		assert_equal "$f: $stderr" "$f: $(cat "${f%.*}.err")"
	done
}

@test "introspect-4.2: a truncated SQLite file is refused" {
	cd "$BAD"
	run -65 --separate-stderr introspect truncated.sqlite
	assert_output ''
	assert_equal "$stderr" 'introspect: truncated.sqlite: truncated SQLite database: expected 1007616 bytes (246 pages of 4096), found 8192'
}

@test "introspect-4.3: an unterminated string names where it starts" {
	cd "$BAD"
	run -65 --separate-stderr introspect unterminated-string.rb
	assert_output ''
	assert_equal "$stderr" "introspect: unterminated-string.rb:3:14: unterminated string: expected '\"' before end of file"
}

@test "introspect-4.4: a fatal error drops the warnings before it" {
	printf 'create_table "a" do |t|\n  t.foo "x"\n  t.string "y\n' > w.rb
	run -65 --separate-stderr introspect w.rb
	assert_output ''
	assert_equal "$stderr" "introspect: w.rb:3:12: unterminated string: expected '\"' before end of file"
}

# build_replay FUZZ SOURCE...: ./replay, the libFuzzer target FUZZ
# (test/fuzz/FUZZ.c) run over the files it is given, with the
# introspect sources it needs, under ASan and UBSan
build_replay() {
	local bsd fuzz=$1
	shift
	bsd=$(pkg-config --cflags libbsd-overlay 2>/dev/null ||
	    echo "-DLIBBSD_OVERLAY -isystem /usr/include/bsd")
	set -- "${@/#/$ROOT/src/stages/introspect/}"
	set -- "${@/%/.c}"
	# shellcheck disable=SC2086
	cc -std=c11 -g -O1 -D_GNU_SOURCE $bsd -I"$ROOT/src/lib" \
	    -I"$ROOT/src/stages/introspect" \
	    -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o replay "$ROOT/test/fuzz/replay.c" "$ROOT/test/fuzz/$fuzz.c" \
	    "$@" "$ROOT"/src/lib/{xalloc,buf,json,inflect,util,spill}.c -lbsd -lmd
}

@test "introspect-5.1: the fuzz corpus replays without a crash or leak" {
	build_replay fuzz-schemarb schemarb rblex model record
	# the corpus: fuzz-only inputs plus the real dumps the tests keep
	set -- "$ROOT"/test/fuzz/corpus-schemarb/* \
	    "$ROOT"/test/data/schemas/*.schema.rb "$ROOT"/test/data/rb/*.rb
	n=$#
	run ./replay "$@"
	assert_success
	assert_output "replayed $n inputs"
}

# --- PostgreSQL structure.sql ---------------------------------------------

SQL="$ROOT/test/data/sql"

# pg_counts FILE: "tables columns foreign_keys" of a pg_dump file,
# counted by awk from its text alone (CREATE TABLE bodies, FOREIGN KEY
# constraints), without the partitions that ATTACH PARTITION names
pg_counts() {
	awk '
	/^CREATE (UNLOGGED )?TABLE / {
		name = $2 == "UNLOGGED" ? $4 : $3
		tables[name] = 1; intable = 1; next
	}
	intable && /^\)/ { intable = 0; next }
	intable && !/^    CONSTRAINT / { cols[name]++ }
	/^ALTER TABLE / {
		for (i = 3; i <= NF; i++)
			if ($i != "ONLY" && $i != "IF" && $i != "EXISTS") {
				alt = $i; break
			}
	}
	/ATTACH PARTITION/ {
		for (i = 1; i < NF; i++) if ($i == "PARTITION") part[$(i + 1)] = 1
	}
	/FOREIGN KEY \(/ && !/^--/ { fks[alt]++ }
	END {
		for (t in tables) if (!(t in part)) {
			nt++; nc += cols[t]; nf += fks[t]
		}
		print nt + 0, nc + 0, nf + 0
	}' "$1"
}

check_pg() {
	run --separate-stderr introspect --strict "$DATA/$1"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | counts)" "$(pg_counts "$DATA/$1")"
	assert_equal "$(printf '%s\n' "$output" | counts)" "$2"
	assert_equal "$(printf '%s\n' "$output" | jq -s 'map(select(.kind == "enum")) | length')" "$3"
}

@test "introspect-6.1: danbooru.structure.sql: 66 tables, 641 columns, 93 foreign keys, no warning" {
	check_pg danbooru.structure.sql "66 641 93" 0
	# CREATE UNLOGGED TABLE, serial ids from sequences and nextval
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.name == "rate_limits") | [.primary_key, .columns[0].auto_increment, .columns[0].default_expr]')" \
	    '[["id"],true,null]'
}

@test "introspect-6.2: lago.structure.sql: 138 tables, 1673 columns, 339 foreign keys, 43 enums, no warning" {
	check_pg lago.structure.sql "138 1673 339" 43
	# pg_dump --clean, a partitioned table without its partition, a
	# table in another schema
	assert_equal "$(printf '%s\n' "$output" | jq -r 'select(.name | test("enriched_events")) | [.schema, .name] | join(".")')" \
'partman.template_public_enriched_events
.enriched_events'
}

@test "introspect-6.3: openstreetmap.structure.sql: 57 tables, 391 columns, 71 foreign keys, 8 enums, no warning" {
	check_pg openstreetmap.structure.sql "57 391 71" 8
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.name == "current_node_tags") | .primary_key')" \
	    '["node_id","k"]'
}

@test "introspect-6.4: every construct of the issue, without a warning" {
	cd "$SQL"
	run --separate-stderr introspect --strict --views constructs.structure.sql
	assert_success
	assert_equal "$stderr" ''
	printf '%s\n' "$output" | golden introspect-sql-constructs
}

@test "introspect-6.5: unknown constructs are warnings with file:line" {
	cd "$SQL"
	run --separate-stderr introspect unknown.structure.sql
	assert_success
	assert_equal "$stderr" "\
introspect: unknown.structure.sql:4: table 'posts': expected a column constraint, found 'SPARKLY', rest of the element skipped
introspect: unknown.structure.sql:5: table 'posts': LIKE is not supported, rest of the element skipped
introspect: unknown.structure.sql:8: unknown statement 'FROBNICATE TABLE', skipped
introspect: unknown.structure.sql:9: alter table: unknown table 'comments', skipped
introspect: unknown.structure.sql:10: index 'index_tags_on_name': unknown table 'tags', skipped
introspect: unknown.structure.sql:11: table 'posts' has no column 'author_id', skipped
introspect: unknown.structure.sql:12: comment: table 'posts' has no column 'nope', skipped
introspect: unknown.structure.sql:13: unexpected 'EXTRA', rest of the statement skipped
introspect: unknown.structure.sql:14: table 'posts' is created twice, second definition skipped"
	assert_equal "$(printf '%s\n' "$output" | jq -c '[.name, [.columns[].name], .primary_key]')" \
	    '["posts",["id","title","body"],["id"]]'
	run -65 --separate-stderr introspect --strict unknown.structure.sql
	assert_output ''
	assert_equal "${stderr##*$'\n'}" 'introspect: unknown.structure.sql: 9 warnings with --strict'
}

@test "introspect-6.11: a foreign key that names no columns references its table's primary key, declared before or after it; one to a table without a key, or not in the source, is warned and dropped" {
	run --separate-stderr introspect --strict "$SQL/fk-no-columns.structure.sql"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.foreign_keys) | .name as $t | .foreign_keys[] | [$t, .name, .columns, .to_schema, .to_table, .to_columns]')" \
'["kids","kids_parent_fk",["parent_code"],null,"parents",["code"]]
["kids","kids_pair_fk",["pair_a","pair_b"],"s","pairs",["a","b"]]
["toys","toys_owner_fk",["owner"],null,"parents",["code"]]
["toys","toys_kid_fk",["kid"],null,"kids",["id"]]'
	cat > bad.sql <<'SQL'
CREATE TABLE nokey (x integer);
CREATE TABLE pairs (a integer, b integer, PRIMARY KEY (a, b));
CREATE TABLE kids (
    id bigint PRIMARY KEY,
    a integer CONSTRAINT kids_nokey_fk REFERENCES nokey,
    b integer CONSTRAINT kids_gone_fk REFERENCES gone,
    c integer CONSTRAINT kids_pairs_fk REFERENCES pairs
);
SQL
	run --separate-stderr introspect bad.sql
	assert_success
	assert_equal "$stderr" "\
introspect: bad.sql:5: table 'kids': foreign key 'kids_nokey_fk' to 'nokey' names no columns and 'nokey' has no primary key, skipped
introspect: bad.sql:6: table 'kids': foreign key 'kids_gone_fk' to 'gone' names no columns and 'gone' is not a table of the source, skipped
introspect: bad.sql:7: table 'kids': foreign key 'kids_pairs_fk': 1 column references 2, skipped"
	assert_equal "$(printf '%s\n' "$output" | jq -c 'select(.name == "kids") | .foreign_keys')" '[]'
}

@test "introspect-6.6: views are records only with --views" {
	run introspect "$DATA/lago.structure.sql"
	assert_equal "$(printf '%s\n' "$output" | jq -s 'map(select(.kind == "view")) | length')" 0
	run --separate-stderr introspect --strict --views "$DATA/lago.structure.sql"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -s 'map(select(.kind == "view")) | length')" 34
}

@test "introspect-6.7: a structure.sql on stdin, and --from sql" {
	run --separate-stderr introspect - < "$DATA/danbooru.structure.sql"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | counts)" "66 641 93"
	assert_equal "$(printf '%s\n' "$output" | jq -r '.source | "\(.kind) \(.file)"' | sort -u)" 'structure_sql stdin'
	printf 'create table t (a int);\n' > lower.txt
	run --separate-stderr introspect --from sql lower.txt
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -c '[.name, .columns[0].type]')" '["t","integer"]'
}

@test "introspect-6.8: introspect does not link libpq; it loads it for live databases only" {
	run ldd "$ROOT/libexec/sluice/introspect"
	assert_success
	refute_output --partial libpq
}

@test "introspect-6.9: the schema.rb and structure.sql of one schema give the same records" {
	# the same tables written both ways, as Rails would dump them
	cat > schema.rb <<'RB'
ActiveRecord::Schema[7.1].define(version: 1) do
  create_table "users", force: :cascade do |t|
    t.string "email", limit: 255, null: false
    t.boolean "admin", default: false, null: false
    t.decimal "score", precision: 10, scale: 2
    t.datetime "seen_at", precision: 6
    t.text "tags", default: [], array: true
    t.index ["email"], name: "index_users_on_email", unique: true
  end
  create_table "posts", force: :cascade do |t|
    t.bigint "user_id", null: false
    t.string "title"
    t.index ["user_id"], name: "index_posts_on_user_id"
  end
  add_foreign_key "posts", "users", name: "fk_rails_posts_users", on_delete: :cascade
end
RB
	cat > structure.sql <<'SQL'
CREATE TABLE public.users (
    id bigint NOT NULL,
    email character varying(255) NOT NULL,
    admin boolean DEFAULT false NOT NULL,
    score numeric(10,2),
    seen_at timestamp(6) without time zone,
    tags text[] DEFAULT '{}'::text[]
);
CREATE SEQUENCE public.users_id_seq START WITH 1;
ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;
CREATE TABLE public.posts (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    title character varying
);
CREATE SEQUENCE public.posts_id_seq START WITH 1;
ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);
ALTER TABLE ONLY public.posts ALTER COLUMN id SET DEFAULT nextval('public.posts_id_seq'::regclass);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.posts ADD CONSTRAINT posts_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX index_users_on_email ON public.users USING btree (email);
CREATE INDEX index_posts_on_user_id ON public.posts USING btree (user_id);
ALTER TABLE ONLY public.posts
    ADD CONSTRAINT fk_rails_posts_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
SQL
	# what a Rails type means, not how each source spells it
	norm='del(.source) | .columns |= map(del(.line, .sql_type))'
	assert_equal "$(introspect schema.rb | jq -c "$norm")" \
	    "$(introspect structure.sql | jq -c "$norm")"
}

@test "introspect-6.10: a lexical error names where the literal starts" {
	cd "$BAD"
	run -65 --separate-stderr introspect unterminated-dollar.sql
	assert_output ''
	assert_equal "$stderr" "introspect: unterminated-dollar.sql:3:8: unterminated dollar-quoted string: expected '\$body\$' before end of file"
}

@test "introspect-5.2: the SQL fuzz corpus replays without a crash or leak" {
	build_replay fuzz-sql pgsql sqllex model record
	set -- "$ROOT"/test/fuzz/corpus-sql/* \
	    "$ROOT"/test/data/schemas/*.structure.sql "$ROOT"/test/data/sql/*.sql
	n=$#
	run ./replay "$@"
	assert_success
	assert_output "replayed $n inputs"
}

# --- the SQLite file reader (sqlfile.c) -----------------------------------

# same_readers [OPTION] FILE: the records are the same whichever reads
# sqlite_schema, and the file's reader alone can read it
same_readers() {
	local lib
	run --separate-stderr env SLUICE_SQLITE_READER=libsqlite3 introspect "$@"
	assert_success
	assert_equal "$stderr" ''
	lib=$output
	run --separate-stderr env SLUICE_SQLITE_READER=file introspect "$@"
	assert_success
	assert_equal "$stderr" ''
	assert_equal "$output" "$lib"
	run --separate-stderr introspect "$@"
	assert_success
	assert_equal "$output" "$lib"
}

# patch FILE OFFSET BYTES: overwrite bytes (printf escapes) in place
patch() {
	# shellcheck disable=SC2059
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# wide.db: one CREATE TABLE of 300 columns on 512-byte pages, so its
# text spills into a chain of overflow pages
make_wide() {
	local cols
	cols=$(seq -f '"column_number_%g" varchar(40) DEFAULT '"'x'"' NOT NULL' \
	    1 300 | paste -sd, -)
	sqlite3 wide.db "PRAGMA page_size=512;
	    CREATE TABLE wide (id integer PRIMARY KEY, $cols);
	    CREATE INDEX wide_c1 ON wide (column_number_1);"
}

@test "introspect-7.1: the file's reader and libsqlite3 give the same records" {
	make_db
	"$ROOT/bench/gen-schema" 100 sql | sqlite3 s.db
	for f in "$DATA"/*.sqlite t.db s.db; do
		same_readers "$f"
		same_readers --views "$f"
	done
	# on stdin too
	run --separate-stderr env SLUICE_SQLITE_READER=file introspect --views - < t.db
	assert_success
	assert_equal "$output" "$(SLUICE_SQLITE_READER=libsqlite3 introspect --views - < t.db)"
}

@test "introspect-7.2: libsqlite3 is loaded only for what needs it" {
	"$ROOT/bench/gen-schema" 20 sql | sqlite3 s.db
	run env LD_DEBUG=files introspect s.db
	assert_success
	refute_output --partial 'file=libsqlite3'
	# views are read through it
	run env LD_DEBUG=files introspect --views "$DATA/northwind.sqlite"
	assert_success
	assert_output --partial 'file=libsqlite3'
}

@test "introspect-7.3: a CREATE TABLE in overflow pages, a deep b-tree, 65536-byte pages" {
	make_wide
	assert_equal "$(sqlite3 wide.db "SELECT count(*) > 10 FROM dbstat
	    WHERE name = 'sqlite_schema' AND pagetype = 'overflow'")" 1
	same_readers wide.db
	assert_equal "$(printf '%s\n' "$output" | jq '.columns | length')" 301
	# 200 tables on 512-byte pages: sqlite_schema four levels deep
	{ echo 'PRAGMA page_size=512;'; "$ROOT/bench/gen-schema" 200 sql; } |
	    sqlite3 deep.db
	assert_equal "$(sqlite3 deep.db "SELECT max(length(path) - length(replace(path, '/', '')))
	    FROM dbstat WHERE name = 'sqlite_schema'")" 3
	same_readers deep.db
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 200
	sqlite3 big.db 'PRAGMA page_size=65536;
	    CREATE TABLE a (id integer PRIMARY KEY, name text NOT NULL);
	    CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a (id));
	    CREATE INDEX b_a ON b (a_id);'
	assert_equal "$(od -An -tu1 -j16 -N2 big.db | tr -s ' ')" ' 0 1'
	same_readers big.db
	assert_equal "$(printf '%s\n' "$output" | jq -rc '[.name, .foreign_keys[0].to_table]' | tr '\n' ' ')" \
	    '["a",null] ["b","a"] '
}

@test "introspect-7.4: a -wal file beside a WAL database: libsqlite3 reads it with the WAL" {
	sqlite3 x.db > /dev/null <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE a (id integer PRIMARY KEY);
PRAGMA wal_checkpoint;
CREATE TABLE b (id integer PRIMARY KEY);
.system cp x.db y.db && cp x.db-wal y.db-wal
EOF
	# b is only in the WAL
	run introspect y.db
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .name | tr '\n' ' ')" 'a b '
	run -65 --separate-stderr env SLUICE_SQLITE_READER=file introspect y.db
	assert_output ''
	assert_equal "$stderr" 'introspect: y.db: cannot read the schema from the file: a -wal file beside it'
	# checkpointed and closed: no -wal, the file's reader reads it
	run ls ./*.db*
	assert_output './x.db
./y.db
./y.db-shm
./y.db-wal'
	assert_equal "$(od -An -tu1 -j18 -N2 x.db | tr -s ' ')" ' 2 2'
	same_readers x.db
	assert_equal "$(printf '%s\n' "$output" | jq -r .name | tr '\n' ' ')" 'a b '
	# a WAL database on stdin has no WAL: read as in rollback mode
	run --separate-stderr env SLUICE_SQLITE_READER=libsqlite3 introspect - < x.db
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r .name | tr '\n' ' ')" 'a b '
	assert_equal "$(introspect - < x.db)" "$output"
}

@test "introspect-7.5: a hot journal is refused, never read past" {
	sqlite3 x.db "CREATE TABLE a (id integer PRIMARY KEY, v text);
	    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c
	        WHERE i < 2000)
	    INSERT INTO a SELECT i, hex(randomblob(100)) FROM c;"
	# a copy in the middle of a transaction that has spilled to the file
	sqlite3 x.db <<'EOF'
PRAGMA cache_size=2;
BEGIN;
CREATE TABLE b (id integer PRIMARY KEY);
UPDATE a SET v = hex(randomblob(100));
.system cp x.db y.db && cp x.db-journal y.db-journal
ROLLBACK;
EOF
	sum=$(cat y.db y.db-journal | cksum)
	run -65 --separate-stderr introspect y.db
	assert_output ''
	assert_equal "$stderr" 'introspect: y.db: cannot read it with a hot -journal beside it: attempt to write a readonly database'
	run -65 --separate-stderr env SLUICE_SQLITE_READER=file introspect y.db
	assert_equal "$stderr" 'introspect: y.db: cannot read the schema from the file: a hot -journal beside it'
	assert_equal "$(cat y.db y.db-journal | cksum)" "$sum"
	# a journal whose header is zeroed (journal_mode=PERSIST) is not hot
	sqlite3 x.db 'PRAGMA journal_mode=PERSIST; CREATE TABLE c (id integer);' > /dev/null
	[ -s x.db-journal ]
	same_readers x.db
	assert_equal "$(printf '%s\n' "$output" | jq -r .name | tr '\n' ' ')" 'a c '
}

@test "introspect-7.6: a writer holding the lock: libsqlite3 says it is locked" {
	sqlite3 x.db 'CREATE TABLE a (id integer PRIMARY KEY);'
	# shellcheck disable=SC2016
	printf '%s\n' 'introspect x.db > out 2> err; echo $? > rc' > run.sh
	sqlite3 x.db 'BEGIN EXCLUSIVE;' 'INSERT INTO a VALUES (1);' \
	    '.system sh run.sh' 'COMMIT;'
	assert_equal "$(cat rc)" 65
	assert_equal "$(cat out)" ''
	assert_equal "$(cat err)" 'introspect: x.db: cannot read it with a writer holding its lock: database is locked'
}

@test "introspect-7.7: a damaged file: libsqlite3's error, or the reader's, never a crash" {
	make_wide
	ov=$(sqlite3 wide.db "SELECT min(pageno) FROM dbstat
	    WHERE name = 'sqlite_schema' AND pagetype = 'overflow'")
	cell=$(od -An -tu2 --endian=big -j108 -N2 wide.db | tr -d ' ')
	cp wide.db type.db; patch type.db 100 '\377'
	cp wide.db cell.db; patch cell.db 108 '\377\377'
	cp wide.db record.db
	patch record.db $((cell + 2)) '\377\377\377\377\377\377\377\377\377'
	cp wide.db range.db; patch range.db $(((ov - 1) * 512)) '\0\1\0\0'
	# the first overflow page's next page: itself
	cp wide.db cycle.db
	patch cycle.db $(((ov - 1) * 512)) "\\0\\0\\0\\$(printf %o "$ov")"
	for f in type:'not a table b-tree page' \
	    cell:'a cell offset beyond its page' \
	    record:'a cell beyond its page' \
	    range:'a page number beyond the file' \
	    cycle:'a page reached twice (a cycle)'; do
		db=${f%%:*}.db
		run -65 --separate-stderr env SLUICE_SQLITE_READER=file introspect "$db"
		assert_output ''
		assert_equal "$stderr" "introspect: $db: cannot read the schema from the file: ${f#*:}"
		# auto: handed to libsqlite3, which says what it finds
		run -65 --separate-stderr introspect "$db"
		assert_output ''
		assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
		assert_equal "$stderr" "$(SLUICE_SQLITE_READER=libsqlite3 introspect "$db" 2>&1)"
		case $stderr in
		"introspect: $db: not a valid SQLite database: "*) ;;
		*) fail "$db: $stderr" ;;
		esac
	done
}

@test "introspect-7.9: a cycle in the b-tree of sqlite_schema" {
	{ echo 'PRAGMA page_size=512;'; "$ROOT/bench/gen-schema" 20 sql; } |
	    sqlite3 deep.db
	# page 1 is an interior page; its right-most child: page 1 itself
	assert_equal "$(od -An -tu1 -j100 -N1 deep.db | tr -d ' ')" 5
	patch deep.db 108 '\0\0\0\1'
	run -65 --separate-stderr env SLUICE_SQLITE_READER=file introspect deep.db
	assert_output ''
	assert_equal "$stderr" 'introspect: deep.db: cannot read the schema from the file: a page reached twice (a cycle)'
	run -65 --separate-stderr introspect deep.db
	assert_output ''
	assert_equal "$stderr" "$(SLUICE_SQLITE_READER=libsqlite3 introspect deep.db 2>&1)"
	case $stderr in
	'introspect: deep.db: not a valid SQLite database: '*) ;;
	*) fail "$stderr" ;;
	esac
}

@test "introspect-7.10: automatic indexes: the primary key's own needs no pragma" {
	sqlite3 k.db <<'EOF'
CREATE TABLE schema_migrations ("version" varchar NOT NULL PRIMARY KEY);
CREATE TABLE pairs (a text, b text, note text DEFAULT 'unique',
  PRIMARY KEY (a, b)); -- not unique
EOF
	run env LD_DEBUG=files introspect k.db
	assert_success
	refute_output --partial 'file=libsqlite3'
	sqlite3 k.db <<'EOF'
CREATE TABLE u1 (id text PRIMARY KEY, email text UNIQUE, "unique" int);
CREATE TABLE u2 (a int, b int, UNIQUE (a, b), UNIQUE (b), PRIMARY KEY (b, a));
CREATE TABLE u3 (id integer PRIMARY KEY, c text UNIQUE, d text UNIQUE);
CREATE TABLE u4 (id int PRIMARY KEY, x int UNIQUE) WITHOUT ROWID;
CREATE TABLE u5 (id integer PRIMARY KEY DESC, y int, UNIQUE (id));
EOF
	run --separate-stderr introspect k.db
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r '.name + ": " +
	    ([.indexes[] | .name + (if .unique then "!" else "" end)] | sort |
	    join(","))')" \
	    "$(sqlite3 k.db "SELECT m.name || ': ' || coalesce((SELECT
	        group_concat(n, ',') FROM (SELECT l.name ||
	            (CASE WHEN l.\"unique\" THEN '!' ELSE '' END) AS n
	            FROM pragma_index_list(m.name) l
	            WHERE l.origin != 'pk' ORDER BY l.name)), '')
	        FROM sqlite_schema m WHERE m.type = 'table' ORDER BY m.rowid")"
	same_readers k.db
}

@test "introspect-7.8: UTF-16 text is read by libsqlite3; SLUICE_SQLITE_READER is checked" {
	sqlite3 u.db "PRAGMA encoding='UTF-16le';
	    CREATE TABLE a (id integer PRIMARY KEY, name text NOT NULL);"
	run -65 --separate-stderr env SLUICE_SQLITE_READER=file introspect u.db
	assert_equal "$stderr" 'introspect: u.db: cannot read the schema from the file: a text encoding other than UTF-8'
	run --separate-stderr introspect u.db
	assert_success
	assert_equal "$output" "$(SLUICE_SQLITE_READER=libsqlite3 introspect u.db)"
	assert_equal "$(printf '%s\n' "$output" | jq -r .name)" a
	run -65 --separate-stderr env SLUICE_SQLITE_READER=mmap introspect u.db
	assert_output ''
	assert_equal "$stderr" "introspect: u.db: SLUICE_SQLITE_READER: unknown reader 'mmap': expected 'auto', 'file' or 'libsqlite3'"
}

@test "introspect-7.11: beyond 64 KiB, a SQLite file's CREATE statements wait in TMPDIR, not in memory, each read back when its table is: the records are the same from memory, a file, a full or a missing TMPDIR" {
	"$ROOT/bench/gen-schema" 1000 sql | sqlite3 s.db
	text=$(sqlite3 s.db "SELECT sum(length(sql)) FROM sqlite_schema")
	SLUICE_SQLITE_READER=libsqlite3 introspect s.db > lib.jsonl
	assert_equal "$(wc -l < lib.jsonl)" 1000
	peak() { /usr/bin/time -f %M -o rss introspect s.db > out.jsonl; cmp out.jsonl lib.jsonl; cat rss; }
	inmem=$(TMPDIR=$PWD/missing peak)
	spilled=$(peak)
	[ $((inmem - spilled)) -gt $((text / 1024 / 2)) ] ||
	    fail "peak RSS ${spilled} KB spilled vs ${inmem} KB in memory, $((text / 1024)) KB of statements"
	mkdir small
	if mount -t tmpfs -o size=64k,mode=0700 tmpfs small 2>/dev/null; then
		TMPDIR=$PWD/small peak >/dev/null
		assert_equal "$(find small -type f | wc -l)" 0
		umount small
	fi
}

@test "introspect-5.3: the SQLite file fuzz corpus replays without a crash or leak" {
	build_replay fuzz-sqlfile sqlfile model record
	set -- "$ROOT"/test/fuzz/corpus-sqlfile/* "$DATA"/*.sqlite
	n=$#
	run ./replay "$@"
	assert_success
	assert_output "replayed $n inputs"
}

@test "introspect-5.4: the PostgreSQL protocol client's fuzz corpus replays without a crash or leak, each server judged as it should be (SCRAM checked against another implementation)" {
	# pgwire.c is included by its fuzz target
	build_replay fuzz-pgwire
	set -- "$ROOT"/test/fuzz/corpus-pgwire/*
	n=$#
	# a length a message claims is not memory taken before its bytes
	# come (oom-claimed-length: 1 GiB claimed, 8 bytes sent)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_allocation_size_mb=64" \
	    run --separate-stderr ./replay "$@"
	assert_success
	assert_output "replayed $n inputs"
	# the notices the servers of the corpus send, as libpq prints them
	assert_regex "$stderr" $'WARNING:  Watch out\nDETAIL:  A detail'
	# what the client made of each server: a SCRAM exchange computed
	# by another implementation (Python's hashlib) is accepted, a bad
	# or missing server proof is not
	for f in trust tls-refused cleartext md5 scram scram-bad-signature \
	    scram-skipped scram-ready-early tls-offered unknown-auth \
	    startup-error oom-claimed-length password-asked-again; do
		printf '%s: ' "$f"
		FUZZ_PGWIRE_SAY=1 ./replay "$ROOT/test/fuzz/corpus-pgwire/$f" \
		    2> /dev/null | head -n 1
	done > said
	assert_equal "$(cat said)" 'trust: connected
tls-refused: connected
cleartext: connected
md5: connected
scram: connected
scram-bad-signature: invalid SCRAM server signature
scram-skipped: SCRAM exchange not completed
scram-ready-early: unexpected message from the server
tls-offered: the server offers TLS
unknown-auth: an authentication method this client does not speak
startup-error: FATAL:  password authentication failed for user "u"
oom-claimed-length: invalid message length from the server
password-asked-again: a password asked for twice'
}

@test "introspect-2.13: an INTEGER PRIMARY KEY is the rowid (never NULL, assigned) except in a WITHOUT ROWID table or declared DESC in the column" {
	sqlite3 r.db 'CREATE TABLE wr(id INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID;
	    CREATE TABLE d(id INTEGER PRIMARY KEY DESC, v TEXT);
	    CREATE TABLE e(id INTEGER, v TEXT, PRIMARY KEY(id DESC));
	    CREATE TABLE f(id integer primary key asc, v TEXT);'
	# SQLite agrees: inserting no id fails, stores NULL, assigns 1, 1
	run sqlite3 r.db "INSERT INTO wr(v) VALUES ('x')"
	assert_failure
	assert_equal "$(sqlite3 r.db "INSERT INTO d(v) VALUES ('x'); SELECT quote(id) FROM d")" NULL
	assert_equal "$(sqlite3 r.db "INSERT INTO e(v) VALUES ('x'); INSERT INTO f(v) VALUES ('x'); SELECT e.id, f.id FROM e, f")" "1|1"
	for reader in file libsqlite3; do
		run -0 sh -c "SLUICE_SQLITE_READER=$reader sluice introspect r.db |
		    jq -r '[.name, .columns[0].null, .columns[0].auto_increment // false] | @tsv'"
		assert_output "wr	false	false
d	true	false
e	false	true
f	false	true"
	done
}

@test "introspect-1.20: an option warned as skipped is left out, not written as 0; a SQLite message quoting a statement stays on one line" {
	printf 'ActiveRecord::Schema[7.1].define(version: 1) do\n  create_table "a" do |t|\n    t.string "x", limit: 99999999999999999999\n    t.decimal "y", precision: 0x10, scale: 2\n  end\nend\n' > l.rb
	run -0 --separate-stderr sluice introspect l.rb
	assert_equal "$stderr" "introspect: l.rb:3: column 'x': limit: expected an integer, skipped
introspect: l.rb:4: column 'y': precision: expected an integer, skipped"
	run -0 jq -c '.columns[1:] | map([.name, .limit, .precision, .scale])' <<< "$output"
	assert_output '[["x",null,null,null],["y",null,null,2]]'
	sqlite3 m.db 'CREATE TABLE t(a, b); PRAGMA writable_schema = ON;
	    UPDATE sqlite_master SET sql = '"'"'CREATE TABLE t(a,
	  "b TEXT,
	  c INT
	)'"'"' WHERE name = '"'"'t'"'"';'
	for reader in file libsqlite3; do
		run -65 --separate-stderr env SLUICE_SQLITE_READER=$reader sluice introspect m.db
		assert_output ''
		assert_equal "$(wc -l <<< "$stderr")" 1
		[[ "$stderr" == "introspect: m.db: "*"unrecognized token"* ]]
	done
}

@test "introspect-1.21: a byte order mark an editor put before a schema.rb or structure.sql is skipped, as Ruby and psql skip it" {
	printf '\357\273\277ActiveRecord::Schema[7.1].define(version: 1) do\n  create_table "a" do |t|\n    t.string "x"\n  end\nend\n' > b.rb
	printf '\357\273\277CREATE TABLE public.t (id integer NOT NULL);\n' > b.sql
	for f in b.rb:a b.sql:t; do
		run -0 --separate-stderr sluice introspect "${f%:*}"
		assert_equal "$stderr" ''
		run -0 jq -r '.name' <<< "$output"
		assert_output "${f#*:}"
		run -0 sh -c "sluice introspect - < ${f%:*} | jq -r .name"
		assert_output "${f#*:}"
	done
}

@test "introspect-3.20: a structure.sql foreign key whose column counts differ is skipped with a warning" {
	printf 'CREATE TABLE public.t (id integer NOT NULL, a integer, b integer);\nALTER TABLE ONLY public.t\n    ADD CONSTRAINT fk FOREIGN KEY (a, b) REFERENCES public.t(id);\n' > fk.sql
	run -0 --separate-stderr sluice introspect fk.sql
	assert_equal "$stderr" "introspect: fk.sql:2: table 't': foreign key 'fk': 2 columns reference 1, skipped"
	run -0 jq -c '.foreign_keys' <<< "$output"
	assert_output '[]'
}

@test "introspect-3.21: what PostgreSQL refuses of an enum (a label twice, ADD VALUE of a label it has, to an unknown enum or next to an unknown label) is warned" {
	cat > en.sql <<-'SQL'
	CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'sad', 'happy');
	ALTER TYPE public.mood ADD VALUE 'meh' BEFORE 'nosuch';
	ALTER TYPE public.mood ADD VALUE 'ok';
	ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'ok';
	ALTER TYPE public.nosuch ADD VALUE 'x';
	ALTER TYPE public.mood ADD VALUE 'great' AFTER 'happy';
	CREATE TABLE public.t (id bigint NOT NULL, m public.mood);
	SQL
	run -0 --separate-stderr sluice introspect en.sql
	assert_equal "$stderr" "introspect: en.sql:1: enum 'mood': label 'sad' is given twice, the second skipped
introspect: en.sql:2: enum 'mood' has no label 'nosuch' to put 'meh' before: skipped
introspect: en.sql:3: enum 'mood' has the label 'ok' already: skipped
introspect: en.sql:5: ALTER TYPE: no enum 'nosuch' is created before: value 'x' skipped"
	run -0 jq -c 'select(.kind == "enum") | .values' <<< "$output"
	assert_output '["sad","ok","happy","great"]'
}
