#!/usr/bin/env bats
# 70-codegen: the generation pipeline end to end (examples/zero):
# every schema of test/data/schemas type-checks with tsc --strict
# against the real @rocicorp/zero, goldens, incremental generation.

load helper

TSC="$ROOT/test/ts/node_modules/.bin/tsc"

# gen SCHEMA OUT: run examples/zero/pipeline.json
gen() {
	sluice run -q -D schema="$1" -D out="$(realpath -m "$2")" \
	    "$ROOT/examples/zero/pipeline.json"
}

# typecheck DIR: tsc --strict --noEmit over every .ts under DIR
typecheck() {
	ln -sfn "$ROOT/test/ts/node_modules" "$1/node_modules"
	cp "$ROOT/test/ts/tsconfig.json" "$1/tsconfig.json"
	(cd "$1" && "$TSC" -p tsconfig.json --strict --noEmit)
}

# check_schema FILE: generate, count the data files, type-check
check_schema() {
	local src="$ROOT/test/data/schemas/$1" tables files
	[ -x "$TSC" ] || skip "TypeScript not installed (sh mk/ts.sh)"
	run -0 gen "$src" out
	tables=$(sluice introspect "$src" 2>/dev/null | sluice typemap 2>/dev/null |
	    jq -s '[.[] | select(.kind == "table")] | length')
	files=$(find out/types -name '*-data.ts' | wc -l)
	assert_equal "$files" "$tables"
	assert_file_exists out/generated-schema.ts
	assert_file_exists out/index.ts
	run -0 typecheck out
	assert_output ''
}

@test "codegen-1.1: bos.schema.rb type-checks, one data file per table" {
	check_schema bos.schema.rb
}

@test "codegen-1.2: campfire.schema.rb type-checks, one data file per table" {
	check_schema campfire.schema.rb
}

@test "codegen-1.3: chinook.sqlite type-checks, one data file per table" {
	check_schema chinook.sqlite
}

@test "codegen-1.4: lobsters.schema.rb type-checks, one data file per table" {
	check_schema lobsters.schema.rb
}

@test "codegen-1.5: maybe.schema.rb type-checks, one data file per table" {
	check_schema maybe.schema.rb
}

@test "codegen-1.6: northwind.sqlite type-checks, one data file per table" {
	check_schema northwind.sqlite
}

@test "codegen-1.7: openfoodnetwork.schema.rb type-checks, one data file per table" {
	check_schema openfoodnetwork.schema.rb
}

@test "codegen-1.8: sakila.sqlite type-checks, one data file per table" {
	check_schema sakila.sqlite
}

@test "codegen-1.9: every schema of test/data/schemas has a test above" {
	# the structure.sql files (and their live databases) type-check in
	# 21-introspect-pg.bats (pg-2.*)
	run -0 ls "$ROOT/test/data/schemas"
	assert_output "bos.schema.rb
campfire.schema.rb
chinook.sqlite
danbooru.structure.sql
lago.structure.sql
lobsters.schema.rb
maybe.schema.rb
northwind.sqlite
openfoodnetwork.schema.rb
openstreetmap.structure.sql
sakila.sqlite"
}

# dump DIR: every generated file with its path, in a stable order
dump() {
	(cd "$1" && find . -name '*.ts' -not -path './node_modules/*' |
	    LC_ALL=C sort | while read -r f; do
		printf '==> %s <==\n' "$f"
		cat "$f"
	done)
}

@test "codegen-2.1: campfire generates the golden TypeScript" {
	gen "$ROOT/test/data/schemas/campfire.schema.rb" out
	dump out | golden codegen-campfire
}

@test "codegen-2.2: chinook generates the golden TypeScript" {
	gen "$ROOT/test/data/schemas/chinook.sqlite" out
	dump out | golden codegen-chinook
}

@test "codegen-2.4: .from() names a column's own database name, never its table's; SQLite's INTEGER PRIMARY KEY is never null" {
	# a table whose name is not an identifier: the table gets .from();
	# a column gets one only for a name of its own that is not.  id,
	# the rowid, is not null though it does not say NOT NULL
	sqlite3 t.db 'CREATE TABLE "order-items" (id INTEGER PRIMARY KEY, "item name" TEXT NOT NULL, qty INTEGER);'
	run -0 gen "$PWD/t.db" out
	run -0 sed -n '/^const order_itemsTable/,/primaryKey/p' out/generated-schema.ts
	assert_output "const order_itemsTable = table('order_items')
  .from('order-items')
  .columns({
    id: number(),
    item_name: string().from('item name'),
    qty: number().optional(),
  })
  .primaryKey('id');"
	run -0 sed -n '/^export interface OrderItemData/,/^}/p' out/types/order-item-data.ts
	assert_output "export interface OrderItemData {
  id: number;
  item_name: string;
  qty: number | null;
}"
	if [ -x "$TSC" ]; then
		run -0 typecheck out
		assert_output ''
	fi
}

@test "codegen-2.5: a column Zero does not replicate is in no interface; a table Zero cannot sync has no file; the key is the primary key's order" {
	cat > k.sql <<-'SQL'
	CREATE TABLE public.tokens (k text NOT NULL, version integer NOT NULL, id integer NOT NULL,
	    secret bytea NOT NULL, note text, CONSTRAINT tokens_pkey PRIMARY KEY (id, version, k));
	CREATE TABLE public.logs (msg text NOT NULL);
	SQL
	run -0 gen "$PWD/k.sql" out
	assert_equal "$(cd out && find . -type f -name "*.ts" | sort)" "./generated-schema.ts
./index.ts
./types/token-data.ts"
	run -0 sed -n '/^export interface TokenData/,/^}/p' out/types/token-data.ts
	assert_output "export interface TokenData {
  k: string;
  version: number;
  id: number;
  note: string | null;
}"
	grep -qx "  .primaryKey('id', 'version', 'k');" out/generated-schema.ts
	if [ -x "$TSC" ]; then
		run -0 typecheck out
		assert_output ''
	fi
}

@test "codegen-2.6: a column named __proto__ gets another property name (a literal's __proto__ key sets the prototype); empty names are left out, warned" {
	sqlite3 e.db 'CREATE TABLE t ("" int, "__proto__" text, id integer primary key);
	    CREATE TABLE "" (id integer primary key);'
	run -0 --separate-stderr gen "$PWD/e.db" out
	assert_equal "$(cd out && find . -type f -name "*.ts" | sort)" "./generated-schema.ts
./index.ts
./types/t-data.ts"
	grep -qx "    proto_: string().from('__proto__').optional()," out/generated-schema.ts
	run -0 sed -n '/^export interface TData/,/^}/p' out/types/t-data.ts
	assert_output "export interface TData {
  proto_: string | null;
  id: number;
}"
	grep -qx 'typemap: <stdin>:1: t: a column with an empty name: left out of the Zero schema' <<< "$stderr"
	grep -qx 'typemap: <stdin>:2: a table with an empty name: left out' <<< "$stderr"
	if [ -x "$TSC" ]; then
		run -0 typecheck out
		assert_output ''
	fi
}

@test "codegen-2.3: output is deterministic: a second run writes nothing; with the files as they were, write does not even start" {
	run -0 gen "$ROOT/test/data/schemas/maybe.schema.rb" out
	assert_output --partial ': 61 written, 0 unchanged, 0 pruned'
	find out -type f -exec stat -c '%n %i %Y.%y %Z' {} + | sort > before
	# its key and its files are as the first run left them: a hit
	run -0 gen "$ROOT/test/data/schemas/maybe.schema.rb" out
	assert_output ''
	run -0 jq -r '.stages[] | select(.name == "write") | .cache.result' \
	    "$(ls -td "$SLUICE_STATE_DIR"/runs/*/ | head -1)/run.json"
	assert_output hit
	find out -type f -exec stat -c '%n %i %Y.%y %Z' {} + | sort > after
	run -0 diff before after
	# a file taken away: write runs, and writes only that one
	rm out/types/account-data.ts
	run -0 gen "$ROOT/test/data/schemas/maybe.schema.rb" out
	assert_output --partial ': 1 written, 60 unchanged, 0 pruned'
	# with the cache off it always runs, and finds nothing to do
	run -0 sluice run -q --no-cache -D schema="$ROOT/test/data/schemas/maybe.schema.rb" \
	    -D out="$PWD/out" "$ROOT/examples/zero/pipeline.json"
	assert_output --partial ': 0 written, 61 unchanged, 0 pruned'
}

@test "codegen-3.1: one table of 1,000 changed: its data file and the schema are rewritten" {
	"$ROOT/bench/gen-schema" 1000 rb > s.rb
	run -0 gen "$PWD/s.rb" out
	assert_output --partial ': 1002 written, 0 unchanged, 0 pruned'
	find out -name '*.ts' -exec stat -c '%n %Y.%y' {} + | sort > before
	# table_500 gains a column
	awk '{ print } /create_table "table_500"/ { print "    t.string \"extra\"" }' \
	    s.rb > s2.rb
	mv s2.rb s.rb
	touch -d '2 seconds ago' before
	run -0 gen "$PWD/s.rb" out
	assert_output --partial ': 2 written, 1000 unchanged, 0 pruned'
	find out -name '*.ts' -exec stat -c '%n %Y.%y' {} + | sort > after
	run diff before after
	assert_equal "$(diff before after | grep -c '^>')" 2
	assert_output --partial 'out/types/table-500-data.ts'
	assert_output --partial 'out/generated-schema.ts'
}

@test "codegen-3.2: --prune removes a table's file when the table goes, and nothing else" {
	gen "$ROOT/test/data/schemas/campfire.schema.rb" out
	echo keep > out/mine.ts
	awk '/create_table "webhooks"/ { skip = 1 } skip && /^  end/ { skip = 0; next } !skip' \
	    "$ROOT/test/data/schemas/campfire.schema.rb" | grep -v 'add_foreign_key "webhooks"' > c.rb
	run -0 gen "$PWD/c.rb" out
	assert_output --partial ': 2 written, 14 unchanged, 1 pruned'
	assert_file_not_exists out/types/webhook-data.ts
	assert_file_exists out/mine.ts
}
