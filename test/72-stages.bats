#!/usr/bin/env bats
# 72-stages: typemap, relations, render and write alone, in shell
# pipelines: usage, mappings, bad input (a clear error, exit 65,
# nothing written).

load helper

# stages-5.7 makes a directory immutable: never left so (bats could not
# remove it)
teardown() {
	[ -n "${imm:-}" ] && chattr -i "$imm" 2>/dev/null
	return 0
}

SCHEMAS="$ROOT/test/data/schemas"

@test "stages-1.1: each stage prints its usage on --usage and exits 64 on a bad option" {
	for s in typemap relations render write; do
		run -0 sluice "$s" --usage
		assert_output --regexp "^usage: sluice $s"
		run -64 --separate-stderr sluice "$s" --bogus
		assert_output ''
		assert_equal "$(tail -n +2 <<< "$stderr" | head -1 | cut -c1-13)" "usage: sluice"
	done
}

@test "stages-2.1: typemap maps every column, defaults as the issue says" {
	sluice introspect "$SCHEMAS/bos.schema.rb" | sluice typemap > t.jsonl
	run -0 jq -r 'select(.name == "jobs") | .columns[] |
	    select(.name == "id" or .name == "title" or .name == "due_at" or
	    .name == "position" or .name == "status") |
	    [.name, .ts_type, .zero, .create] | @tsv' t.jsonl
	assert_output --partial $'id\tstring\tstring()\tomit'
	assert_output --partial $'title\tstring | null\tstring()\toptional'
}

@test "stages-2.2: typemap: arrays, json, CHECK IN enums, binary left out with a warning" {
	run -0 --separate-stderr sh -c "sluice introspect '$SCHEMAS/sakila.sqlite' | sluice typemap"
	assert_equal "$(grep -c 'is not replicated by Zero' <<< "$stderr")" 3
	assert_equal "$(head -1 <<< "$stderr")" "typemap: <stdin>:8: film.description: type 'BLOB SUB_TYPE TEXT' is not replicated by Zero: left out of the Zero schema"
	run -0 jq -r 'select(.name == "film") | .columns[] | select(.name == "rating") | .ts_type, .zero' <<< "$output"
	assert_output "'G' | 'PG' | 'PG-13' | 'R' | 'NC-17' | null
enumeration<'G' | 'PG' | 'PG-13' | 'R' | 'NC-17'>()"
	run -0 sh -c "sluice introspect '$SCHEMAS/bos.schema.rb' | sluice typemap |
	    jq -r '.columns[]? | select(.array) | .ts_type + \" \" + .zero' | sort -u"
	assert_output --partial 'string[] | null json<string[]>()'
}

@test "stages-2.3: typemap: default excludes, --include, --exclude, --all-tables" {
	sluice introspect "$SCHEMAS/bos.schema.rb" > r.jsonl
	run -0 sh -c 'sluice typemap < r.jsonl | jq -r .name | { grep -c "^solid_\|^schema_migrations\|^ar_internal" || true; }'
	assert_output 0
	run -0 sh -c 'sluice typemap --all-tables < r.jsonl | jq -r .name | { grep -c "^solid_" || true; }'
	refute_output 0
	run -0 sh -c 'sluice typemap --include "job*" --exclude jobs < r.jsonl | jq -r .name'
	assert_output "job_assignments
job_people
job_targets"
}

@test "stages-2.4: typemap: an override file and a @type comment" {
	cat > o.json <<-'JSON'
	{ "types": { "jsonb": "Record<string, string>" },
	  "columns": { "jobs.position": { "ts": "1 | 2 | 3", "zero": "number" } } }
	JSON
	printf 'create_table "jobs" do |t|\n  t.jsonb "meta"\n  t.integer "position"\n  t.json "tags", comment: "@type {string[]} labels"\nend\n' > s.rb
	run -0 sh -c 'sluice introspect s.rb | sluice typemap --override o.json | jq -r ".columns[] | .ts_type + \" \" + .zero"'
	assert_output "number number()
Record<string, string> | null json<Record<string, string>>()
1 | 2 | 3 | null number<1 | 2 | 3>()
string[] | null json<string[]>()"
	# a type goes into the code as it is: not empty, on one line
	echo '{ "types": { "jsonb": " " } }' > e.json
	run -65 --separate-stderr sh -c 'sluice introspect s.rb | sluice typemap --override e.json'
	assert_equal "$stderr" "typemap: e.json:1:23: expected a TypeScript type, found an empty string"
	assert_output ''
	printf '{ "columns": { "jobs.meta": { "ts": "x;\\n}" } } }\n' > n.json
	run -65 --separate-stderr sh -c 'sluice introspect s.rb | sluice typemap --override n.json'
	assert_equal "$stderr" "typemap: n.json:1:37: expected a TypeScript type on one line, found a control character"
}

@test "stages-2.7: a record through typemap or relations twice is refused, not given each key twice" {
	sluice introspect "$SCHEMAS/campfire.schema.rb" | sluice typemap > t.jsonl
	run -65 --separate-stderr sh -c 'sluice typemap < t.jsonl'
	assert_output ''
	[[ "$stderr" =~ ^typemap:\ \<stdin\>:1:[0-9]+:\ a\ table\ with\ \"ts_name\"\ already:\ typemap\ adds\ it\ \(a\ record\ goes\ through\ typemap\ once\)$ ]]
	echo '{"v":1,"kind":"table","name":"t","primary_key":["id"],"columns":[{"name":"id","type":"integer","null":false,"zero":"x"}]}' > z.jsonl
	run -65 --separate-stderr sluice typemap < z.jsonl
	assert_equal "$stderr" "typemap: <stdin>:1:109: a column with \"zero\" already: typemap adds it (a record goes through typemap once)"
	sluice relations < t.jsonl > r.jsonl
	run -65 --separate-stderr sh -c 'sluice relations < r.jsonl'
	assert_output ''
	[[ "$stderr" =~ ^relations:\ \<stdin\>:1:[0-9]+:\ a\ table\ record\ with\ \"relations\"\ already:\ relations\ adds\ it\ \(a\ record\ goes\ through\ relations\ once\)$ ]]
}

@test "stages-2.5b: typemap: the Zero key is the primary key in its order, else a NOT NULL unique index; a table with neither is left out" {
	cat > k.sql <<-'SQL'
	CREATE TYPE public.mood AS ENUM ('happy', 'sad');
	CREATE TABLE public.tags (k text NOT NULL, version integer NOT NULL, id integer NOT NULL,
	    CONSTRAINT tags_pkey PRIMARY KEY (id, version, k));
	CREATE TABLE public.blobs (hash bytea NOT NULL, n integer NOT NULL, slug text NOT NULL, alt text,
	    CONSTRAINT blobs_pkey PRIMARY KEY (hash, n));
	CREATE UNIQUE INDEX blobs_alt ON public.blobs USING btree (alt);
	CREATE UNIQUE INDEX blobs_slug ON public.blobs USING btree (slug, n);
	CREATE TABLE public.logs (msg text NOT NULL, payload bytea);
	CREATE TABLE public.pairs (a integer, b integer NOT NULL);
	CREATE UNIQUE INDEX pairs_ab ON public.pairs USING btree (a, b);
	CREATE TABLE public.moods (id integer NOT NULL, moods public.mood[], opens_at time without time zone,
	    email public.citext, CONSTRAINT moods_pkey PRIMARY KEY (id));
	SQL
	run -0 --separate-stderr sh -c 'sluice introspect k.sql | sluice typemap'
	# blobs: its key holds a bytea (not in Zero): the NOT NULL unique
	# index, not the one with a nullable column
	run -0 jq -r 'select(.kind == "table") | [.name, (.zero_pk | join(","))] | @tsv' <<< "$output"
	assert_output "tags	id,version,k
blobs	slug,n
moods	id"
	assert_equal "$(grep -c 'Zero cannot sync it' <<< "$stderr")" 2
	grep -qx "typemap: <stdin>:[0-9]*: logs: no primary key or unique index of NOT NULL columns that Zero replicates: left out (Zero cannot sync it)" <<< "$stderr"
	grep -qx "typemap: <stdin>:[0-9]*: pairs: no primary key or unique index of NOT NULL columns that Zero replicates: left out (Zero cannot sync it)" <<< "$stderr"
	run -0 sh -c 'sluice introspect k.sql | sluice typemap 2>/dev/null | jq -r "select(.name == \"moods\") | .columns[] | [.name, .ts_type, .zero // \"-\"] | @tsv"'
	assert_output "id	number	number()
moods	('happy' | 'sad')[] | null	json<('happy' | 'sad')[]>()
opens_at	string | null	-
email	string | null	-"
}

@test "stages-2.6: typemap: two tables with one TypeScript name are refused; a tables override renames one" {
	sqlite3 c.db 'create table order_items(id integer primary key); create table "order-items"(id integer primary key); create table "Order Items"(id integer primary key);'
	run -65 --separate-stderr sh -c 'sluice introspect c.db | sluice typemap'
	assert_output ''
	assert_equal "$stderr" "typemap: <stdin>:2:1: tables 'order_items' (line 1) and 'order-items' both have the TypeScript name 'order_items': give one another name with --override ({\"tables\": {\"order-items\": \"...\"}}) or leave it out with --exclude"
	echo '{ "tables": { "order-items": "OrderItemsDashed", "Order Items": "OrderItemsSpaced" } }' > o.json
	run -0 sh -c 'sluice introspect c.db | sluice typemap --override o.json | jq -r "[.name, .ts_name, .zero_from // \"-\"] | @tsv"'
	assert_output "order_items	order_items	-
order-items	OrderItemsDashed	order-items
Order Items	OrderItemsSpaced	Order Items"
	# renamed to its bare name, a table of another schema still says
	# where it is
	printf '%s\n' '{"v":1,"kind":"table","schema":"billing","name":"users","primary_key":["id"],"columns":[{"name":"id","type":"integer","null":false}]}' > b.jsonl
	echo '{ "tables": { "billing.users": "users" } }' > ob.json
	run -0 sh -c 'sluice typemap --override ob.json < b.jsonl | jq -r "[.ts_name, .zero_from] | @tsv"'
	assert_output "users	billing.users"
	echo '{ "tables": { "x": "not ok" } }' > bad.json
	run -65 --separate-stderr sluice typemap --override bad.json < /dev/null
	assert_equal "$stderr" "typemap: bad.json:1:20: 'not ok' is not a TypeScript identifier"
}

@test "stages-2.6b: typemap: two columns with one TypeScript name are refused; a columns override renames one, key and all" {
	sqlite3 c.db 'create table t(id integer primary key, "item name" text, item_name text); create table u("e mail" text not null, x int); create unique index ue on u("e mail");'
	run -65 --separate-stderr sh -c 'sluice introspect c.db | sluice typemap'
	assert_output ''
	assert_equal "$stderr" "typemap: <stdin>:1:218: columns 'item name' and 'item_name' of 't' both have the TypeScript name 'item_name': give one another name with --override ({\"columns\": {\"t.item_name\": {\"name\": \"...\"}}})"
	# a rename keeps the type the column's type maps to
	echo '{ "types": { "text": "Lorem" }, "columns": { "t.item_name": { "name": "itemName2" }, "u.e mail": { "name": "email" } } }' > o.json
	run -0 sh -c 'sluice introspect c.db | sluice typemap --override o.json | jq -r "[.name, (.zero_pk | join(\",\")), (.columns[] | .ts_name, .ts_type, .zero_from // \"-\")] | @tsv"'
	assert_output "t	id	id	number	-	item_name	Lorem | null	item name	itemName2	Lorem | null	item_name
u	email	email	Lorem	e mail	x	number | null	-"
	echo '{ "columns": { "t.item_name": { "name": "2nd" } } }' > bad.json
	run -65 --separate-stderr sluice typemap --override bad.json < /dev/null
	assert_equal "$stderr" "typemap: bad.json:1:41: '2nd' is not a TypeScript identifier"
}

@test "stages-2.5: an unknown record version is refused with its line, nothing written" {
	for s in typemap relations write; do
		printf '{"v":1,"kind":"enum","name":"e","values":[]}\n{"v":2,"kind":"table"}\n' > in.jsonl
		if [ "$s" = write ]; then set -- out; else set --; fi
		run -65 --separate-stderr sluice "$s" "$@" < in.jsonl
		assert_output ''
		assert_equal "$stderr" "$s: <stdin>:2:6: unknown record version 2: expected 1"
	done
	run -65 --separate-stderr sh -c 'echo "{\"v\":2}" | sluice render --all x.tmpl 2>&1 >/dev/null; touch x.tmpl; echo "{\"v\":2,\"kind\":\"table\"}" | sluice render x.tmpl'
	assert_equal "$stderr" "render: <stdin>:1:6: unknown record version 2: expected 1"
	assert_file_not_exists out
	run -65 --separate-stderr sluice typemap <<< '{"v":"1","kind":"table"}'
	assert_equal "$stderr" 'typemap: <stdin>:1:6: "v": expected the number 1, found string'
	# a field of the wrong type says so, not that it is missing
	run -65 --separate-stderr sluice typemap <<< '{"v":1,"kind":"table","name":7,"columns":[]}'
	assert_equal "$stderr" 'typemap: <stdin>:1:30: "name": expected a string, found number'
	run -65 --separate-stderr sluice typemap <<< '{"v":1,"kind":"table","name":"t","columns":[{"name":"id","type":5}]}'
	assert_equal "$stderr" 'typemap: <stdin>:1:65: "type": expected a string, found number'
	run -65 --separate-stderr sluice relations <<< '{"v":1,"kind":"table","name":"t","columns":["id"]}'
	assert_equal "$stderr" 'relations: <stdin>:1:45: column: expected an object, found string'
	run -65 --separate-stderr sluice relations <<< '{"v":1,"kind":"table","name":"t","columns":[{"name":null}]}'
	assert_equal "$stderr" 'relations: <stdin>:1:45: column without a "name"'
}

@test "stages-3.1: relations: belongs_to, inverses, has_many through, polymorphic" {
	run -0 sh -c "sluice introspect '$SCHEMAS/chinook.sqlite' | sluice typemap | sluice relations |
	    jq -r 'select(.name == \"Playlist\" or .name == \"Employee\") | .relations[] | [.name, .kind, .target, (.hops | length)] | @tsv'"
	assert_output "ReportsToEmployee	belongs_to	Employee	1
SupportRepCustomers	has_many	Customer	1
ReportsToEmployees	has_many	Employee	1
PlaylistTracks	has_many	PlaylistTrack	1
Tracks	has_many_through	Track	2"
	run -0 sh -c "sluice introspect '$SCHEMAS/campfire.schema.rb' | sluice relations |
	    jq -c 'select(.name == \"action_text_rich_texts\") | .polymorphic'"
	assert_output '[{"name":"record","type_column":"record_type","id_column":"record_id"}]'
}

@test "stages-3.2: relations: _id columns without foreign keys follow Rails' inflection" {
	printf 'create_table "people" do |t|\nend\ncreate_table "statuses" do |t|\nend\ncreate_table "posts" do |t|\n  t.bigint "person_id"\n  t.bigint "status_id"\n  t.bigint "author_id"\nend\n' > s.rb
	run -0 sh -c 'sluice introspect s.rb | sluice relations | jq -r ".relations[] | [.name, .kind, .table, .via] | @tsv"'
	assert_output "posts	has_many	posts	convention
posts	has_many	posts	convention
person	belongs_to	people	convention
status	belongs_to	statuses	convention"
}

@test "stages-3.2b: relations: no convention join of a table's own key to itself, of a string to a number, or again beside a foreign key" {
	cat > c.rb <<-'RB'
	create_table "actors", primary_key: "actor_id" do |t|
	  t.string "name"
	end
	create_table "users", id: :uuid do |t|
	end
	create_table "sessions", id: :serial do |t|
	  t.string "session_id", null: false
	  t.bigint "user_id"
	end
	create_table "memberships" do |t|
	  t.bigint "organization_id"
	end
	create_table "organizations" do |t|
	end
	create_table "roles" do |t|
	  t.bigint "membership_id"
	  t.bigint "organization_id"
	  t.bigint "actor_id"
	end
	add_foreign_key "roles", "memberships", column: ["membership_id", "organization_id"], primary_key: ["id", "organization_id"]
	RB
	# with typemap (ts_base) and without (type): the same joins
	for tm in "sluice typemap" cat; do
		run -0 sh -c "sluice introspect c.rb | $tm | sluice relations |
		    jq -r 'select(.relations) | .name as \$t | .relations[] |
		    [\$t, .name, .via, (.hops[0].source | join(\",\"))] | @tsv'"
		assert_output "actors	roles	convention	actor_id
memberships	organization	convention	organization_id
memberships	roles	foreign_key	id,organization_id
organizations	memberships	convention	id
organizations	roles	convention	id
roles	membership	foreign_key	membership_id,organization_id
roles	organization	convention	organization_id
roles	actor	convention	actor_id"
	done
}

@test "stages-3.3: relations: records json.c reads (escapes, a bad foreign key) as the one-pass reader would" {
	# escapes in a name and a key: the same relations as without
	printf '%s\n' '{"v":1,"kind":"table","name":"users","primary_key":["id"],"columns":[{"name":"id"}]}' \
	    '{"v":1,"kind":"t\u0061ble","name":"p\u006fsts","primary_key":["id"],"columns":[{"name":"id"},{"n\u0061me":"user_id"}],"foreign_keys":[{"columns":["user_id"],"to_table":"users"}]}' > in.jsonl
	run -0 sh -c 'sluice relations < in.jsonl | jq -r ".relations[] | [.name, .kind, .table, .hops[0].source[0], .hops[0].dest[0]] | @tsv"'
	assert_output "posts	has_many	posts	id	user_id
user	belongs_to	users	user_id	id"
	# a key column that is not a string: an error only when the key
	# reaches a table, after every record has been read
	printf '%s\n' '{"v":1,"kind":"table","name":"a","primary_key":["x"],"columns":[{"name":"x"}],"foreign_keys":[{"columns":[1],"to_table":"nope"}]}' \
	    '{"v":1,"kind":"table","name":"b","columns":[{"name":"x"}],"foreign_keys":[{"columns":["x"],"to_columns":["x", 2],"to_table":"a"}]}' > fk.jsonl
	run -65 --separate-stderr sluice relations < fk.jsonl
	assert_output ''
	assert_equal "$stderr" "relations: <stdin>:2:111: expected a column name"
	printf '{"v":1,"kind":"enum","name":"e","values":[}\n' >> fk.jsonl
	run -65 --separate-stderr sluice relations < fk.jsonl
	assert_equal "$stderr" "relations: <stdin>:3:43: expected a JSON value"
	# a duplicate key in a column after keys as the column before had
	printf '%s\n' '{"v":1,"kind":"table","name":"t","columns":[{"name":"a","ts_name":"a","zero":null},{"name":"b","ts_name":"b"},{"name":"c","ts_name":"c","zero":null,"x":1},{"name":"d","ts_name":"d","name":"e"}]}' > dup.jsonl
	run -65 --separate-stderr sluice relations < dup.jsonl
	assert_equal "$stderr" "relations: <stdin>:1:182: duplicate key 'name' (first at 1:157)"
	# a duplicate key deep in a record that is not a table
	printf '{"v":1,"kind":"enum","name":"e","values":[{"a":1,"b":{"c":2,"c":3}}]}\n' > dup.jsonl
	run -65 --separate-stderr sluice relations < dup.jsonl
	assert_equal "$stderr" "relations: <stdin>:1:61: duplicate key 'c' (first at 1:55)"
}

@test "stages-3.4: relations: its one-pass reader takes only what json.c takes, with the same facts (t-relscan)" {
	[ -x "$ROOT/test/unit/t-relscan" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-relscan" 20000
	assert_output --regexp '^t-relscan: 20000 generated records \([0-9]+ read in one pass, [0-9]+ tables\) and 20000 mutations \([0-9]+ read, [0-9]+ tables\): the same as json.c$'
}

@test "stages-3.5: relations: a column typemap left out of Zero (no zero, or null) is never joined" {
	# without typemap (no ts_name) every column is in
	printf '%s\n' '{"v":1,"kind":"table","name":"users","primary_key":["id"],"columns":[{"name":"id","ts_name":"id","zero":"number()"}]}' \
	    '{"v":1,"kind":"table","name":"posts","primary_key":["id"],"columns":[{"name":"id","ts_name":"id","zero":"number()"},{"name":"user_id","ts_name":"user_id"},{"name":"owner_id","ts_name":"owner_id","zero":null}],"foreign_keys":[{"columns":["owner_id"],"to_table":"users"}]}' \
	    '{"v":1,"kind":"table","name":"tags","primary_key":["id"],"columns":[{"name":"id"},{"name":"user_id"}]}' > z.jsonl
	run -0 sh -c 'sluice relations < z.jsonl | jq -r ".name as \$t | .relations[] | [\$t, .name, .kind] | @tsv"'
	assert_output "users	tags	has_many
tags	user	belongs_to"
}

# spill_check STAGE ARGS...: STAGE ARGS < in.jsonl, whose output
# (mem.jsonl, made with --buffer-size 1G) holds BYTES bytes the stage
# keeps until its input ends: with the 64K default its peak RSS is
# below that of keeping them all by half of them at least (the rest of
# what it holds varies from run to run), and the output is the same
# from memory, a file, a missing TMPDIR and one that fills up; a size
# that does not parse is a usage error
spill_check() {
	local stage=$1 inmem spilled
	shift
	peak() { /usr/bin/time -f %M -o rss sluice "$stage" "$@" < in.jsonl > out.jsonl; cmp out.jsonl mem.jsonl; cat rss; }
	inmem=$(peak --buffer-size 1G "$@")
	spilled=$(peak "$@")
	[ $((inmem - spilled)) -gt $((BYTES / 1024 / 2)) ] ||
	    fail "$stage: peak RSS ${spilled} KB spilled vs ${inmem} KB in memory, $((BYTES / 1024)) KB kept"
	peak --buffer-size 1 "$@" >/dev/null
	TMPDIR=$PWD/missing peak --buffer-size 1 "$@" >/dev/null
	mkdir -p small
	if mount -t tmpfs -o size=64k,mode=0700 tmpfs small 2>/dev/null; then
		# the file fills up: what it holds comes back into memory
		TMPDIR=$PWD/small peak --buffer-size 1 "$@" >/dev/null
		assert_equal "$(find small -type f | wc -l)" 0
		umount small
	fi
	run -64 --separate-stderr sluice "$stage" --buffer-size lots "$@" < in.jsonl
	assert_output ''
	assert_equal "$stderr" "$stage: --buffer-size: 'lots': expected a size (256K, 4M, 1G)"
	# a bad last record, all before it spilled: its line named, nothing
	# written, no file left in TMPDIR
	{ cat in.jsonl; echo '{"v":1,"kind":'; } > bad.jsonl
	mkdir -p tmpd
	TMPDIR=$PWD/tmpd run -65 --separate-stderr sluice "$stage" --buffer-size 1 "$@" < bad.jsonl
	assert_output ''
	[[ "$stderr" == "$stage: <stdin>:$(wc -l < bad.jsonl):"* ]] || fail "$stderr"
	assert_equal "$(ls -A tmpd)" ''
}

# big_schema: in.jsonl, typemap's records of bench/gen-schema's 1,000
# tables (3.8 MB)
big_schema() {
	"$ROOT/bench/gen-schema" 1000 sql | sqlite3 s.db
	sluice introspect s.db | sluice typemap > in.jsonl
}

@test "stages-3.6: relations: input beyond --buffer-size waits in TMPDIR, not in memory; the output is the same from memory, a file, a full or a missing TMPDIR; a bad record leaves nothing" {
	big_schema
	sluice relations --buffer-size 1G < in.jsonl > mem.jsonl
	assert_equal "$(wc -l < mem.jsonl)" 1000
	assert_equal "$(jq -c 'select(.name == "table_2") | [.relations[].name]' mem.jsonl)" '["parent","owner_table_3s","parent_table_4s","parent_table_5s"]'
	BYTES=$(wc -c < in.jsonl) spill_check relations
}

@test "stages-4.1: render: an unclosed section names template:line:col, nothing written" {
	printf 'x\n{{#columns}}\n{{name}}\n' > bad.tmpl
	run -65 --separate-stderr sh -c "sluice introspect '$SCHEMAS/campfire.schema.rb' | sluice render bad.tmpl"
	assert_output ''
	assert_equal "$stderr" "render: bad.tmpl:2:1: unclosed section 'columns': expected '{{/columns}}' before the end"
	printf '{{#a}}{{/b}}' > bad2.tmpl
	run -65 --separate-stderr sluice render bad2.tmpl < /dev/null
	assert_equal "$stderr" "render: bad2.tmpl:1:7: '{{/b}}' closes 'a' opened at 1:1"
	printf '{{a|nope}}' > bad3.tmpl
	run -65 --separate-stderr sluice render bad3.tmpl < /dev/null
	assert_equal "$stderr" "render: bad3.tmpl:1:1: unknown filter 'nope': expected camel, pascal, snake, kebab, singular, plural, ts, upper, lower or json"
	# a NUL byte (it once cut a piece of text short of its length, and
	# the rest was read past its end)
	printf 'a\0b{{name}}' > nul.tmpl
	run -65 --separate-stderr sh -c "echo '{\"v\":1,\"kind\":\"table\",\"name\":\"t\"}' | sluice render nul.tmpl"
	assert_output ''
	assert_equal "$stderr" "render: nul.tmpl:1:2: a NUL byte: a template is text"
	# a name with a line break in it: still one line
	printf 'x\n{{#a\nb}}y' > nl.tmpl
	run -65 --separate-stderr sluice render nl.tmpl < /dev/null
	assert_equal "$stderr" "render: nl.tmpl:2:1: unclosed section 'a b': expected '{{/a b}}' before the end"
	printf '{{>no\nsuch}}' > nl2.tmpl
	run -65 --separate-stderr sluice render nl2.tmpl < /dev/null
	assert_equal "$stderr" "render: nl2.tmpl:1:1: partial 'no such' not found"
	# a path that comes out empty names no file
	echo x > x.tmpl
	echo '{"v":1,"kind":"table","name":"t"}' > t.jsonl
	run -65 --separate-stderr sluice render --path '{{nope}}' x.tmpl < t.jsonl
	assert_equal "$stderr" "render: <stdin>:1:1: the path of the file of 'x.tmpl' is empty (a name --path needs that the record lacks?)"
	assert_output ''
	run -65 --separate-stderr sluice render --all --path '{{nope}}' x.tmpl < t.jsonl
	assert_equal "$stderr" "render: the path of the file of 'x.tmpl' is empty"
	assert_output ''
	# a template that cannot be read: 66
	run -66 --separate-stderr sluice render "$PWD" < t.jsonl
	assert_equal "$stderr" "render: $PWD: Is a directory"
}

@test "stages-1.9: a stage whose stdout is closed fails (74) instead of writing into a file it opened later; write's closed stdin is an error too" {
	sluice introspect "$SCHEMAS/campfire.schema.rb" > i.jsonl
	sluice typemap < i.jsonl > t.jsonl
	for s in "introspect $SCHEMAS/campfire.schema.rb" "typemap" "relations" "render --all $ROOT/examples/zero/schema.ts.tmpl"; do
		in=t.jsonl
		[ "$s" = typemap ] && in=i.jsonl
		run -74 --separate-stderr sh -c "sluice $s < $in >&-"
		assert_equal "$stderr" "${s%% *}: write: Bad file descriptor"
	done
	run -74 --separate-stderr sh -c "sluice write out <&-"
	assert_equal "$stderr" "write: read: Bad file descriptor"
	assert_file_not_exists out
}

@test "stages-4.1b: render: sections nested too deep are refused; a partial is compiled once however often it is included; a missing one is named" {
	echo '{"v":1,"kind":"table","name":"users","columns":[]}' > one.jsonl
	awk 'BEGIN { for (i = 0; i < 5000; i++) printf "{{#nope}}"; printf "x"
	    for (i = 0; i < 5000; i++) printf "{{/nope}}" }' > deep.tmpl
	run -65 --separate-stderr sluice render deep.tmpl < one.jsonl
	assert_output ''
	assert_equal "$stderr" "render: deep.tmpl:1:901: sections nested more than 100 deep"
	# p0 includes p1 ten times, p1 p2 ten times, ... p7 p8: 10^8
	# inclusions, 9 templates; compiled per inclusion it would run for
	# hours (and 10^8 compilations), so a bounded wait is the check
	for i in 0 1 2 3 4 5 6 7; do
		for k in 1 2 3 4 5 6 7 8 9 10; do
			printf '{{#nope}}{{>p%d.tmpl}}{{/nope}}\n' $((i + 1))
		done > "p$i.tmpl"
	done
	echo leaf > p8.tmpl
	run -0 timeout 60 sluice render --path x p0.tmpl < one.jsonl
	assert_output '{"v":1,"kind":"file","path":"x","table":"users","content":"\n\n\n\n\n\n\n\n\n\n"}'
	run -0 timeout 60 sluice render --all --path x p0.tmpl < one.jsonl
	echo '{{>nope.tmpl}}' > pm.tmpl
	run -65 --separate-stderr sluice render pm.tmpl < one.jsonl
	assert_equal "$stderr" "render: pm.tmpl:1:1: partial 'nope.tmpl' not found"
	# a chain c0 -> c1 -> ... -> c20 is too deep, also when part of it
	# was compiled first from nearer the top
	for i in $(seq 0 19); do echo "{{>c$((i + 1)).tmpl}}" > "c$i.tmpl"; done
	echo leaf > c20.tmpl
	echo '{{>c10.tmpl}}{{>c0.tmpl}}' > chain.tmpl
	run -65 --separate-stderr sluice render chain.tmpl < one.jsonl
	assert_equal "$stderr" "render: ./c9.tmpl:1:1: partial 'c10.tmpl': nested more than 16 deep"
}

@test "stages-4.2: render: one file record per table, others pass through; --all is one" {
	printf '{{name|singular|pascal}}\n' > n.tmpl
	run -0 sh -c "sluice introspect '$SCHEMAS/maybe.schema.rb' | sluice render --path 'm/{{name|kebab}}.txt' n.tmpl | jq -r '[.kind, .path // .name, .content // \"\"] | @tsv' | head -3"
	assert_output "enum	account_status	
file	m/accounts.txt	Account\n
file	m/active-storage-attachments.txt	ActiveStorageAttachment\n"
	printf '{{#tables}}{{name}}{{^@last}},{{/@last}}{{/tables}}' > all.tmpl
	run -0 sh -c "sluice introspect '$SCHEMAS/chinook.sqlite' | sluice render --all all.tmpl | jq -r '.path, .content'"
	assert_output "all
Album,Artist,Customer,Employee,Genre,Invoice,InvoiceLine,MediaType,Playlist,PlaylistTrack,Track"
}

@test "stages-4.4: render --all: several templates over one parse, each with its --path in order" {
	printf 'tables:{{#tables}} {{name}}{{/tables}}\n' > a.tmpl
	printf '{{#tables}}{{#@first}}first {{name}}{{/@first}}{{/tables}}\n' > b.tmpl
	run -0 sh -c "sluice introspect '$SCHEMAS/campfire.schema.rb' | sluice typemap |
	    sluice render --all --path one.txt --path two.txt a.tmpl b.tmpl |
	    jq -r '[.path, .content] | @tsv'"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[0]%%	*}" "one.txt"
	[[ "${lines[0]}" == "one.txt	tables: accounts "* ]]
	assert_equal "${lines[1]}" 'two.txt	first accounts\n'
	# without --path each takes its template's name
	run -0 sh -c "sluice render --all a.tmpl b.tmpl < /dev/null | jq -r .path"
	assert_output $'a\nb'
	# only the members the templates name are kept as tokens, but a
	# value printed whole is printed as it came, every member in it
	printf '{{#tables}}{{#@first}}{{source}}{{/@first}}{{/tables}}' > c.tmpl
	sluice introspect "$SCHEMAS/campfire.schema.rb" > recs.jsonl
	run -0 sh -c "sluice render --all c.tmpl < recs.jsonl | jq -r .content"
	assert_output "$(jq -c 'select(.kind == "table") | .source' recs.jsonl | head -1)"
	[[ "$output" == *'"line":'* ]]
	run -64 --separate-stderr sluice render a.tmpl b.tmpl < /dev/null
	assert_equal "$stderr" "render: 2 templates: several need --all (a table gives one file record)"
	run -64 --separate-stderr sluice render --all --path x a.tmpl b.tmpl < /dev/null
	assert_equal "$stderr" "render: 1 --path for 2 templates: give one for each, in the same order, or none"
}

@test "stages-4.5: render --all: sections over the records render as the records come, as over them all" {
	cat > recs.jsonl <<'J'
{"v":1,"kind":"table","name":"a"}
{"v":1,"kind":"enum","name":"e1"}
{"v":1,"kind":"table","name":"b"}
{"v":1,"kind":"view","name":"v1"}
{"v":1,"kind":"table","name":"c"}
{"v":1,"kind":"other","name":"x"}
J
	# streamed, one record behind: @last is known when the next comes
	cat > s.tmpl <<'T'
T:{{#tables}}{{@index}}={{name}}{{#@first}}(first){{/@first}}{{^@last}},{{/@last}}{{/tables}}
E:{{#enums}}{{name}}{{#@last}}.{{/@last}}{{/enums}}
R:{{#records}}{{kind}}/{{name}}{{^@last}} {{/@last}}{{/records}}
V:{{#views}}{{name}}{{/views}}
T
	expect='T:0=a(first),1=b,2=c
E:e1.
R:table/a enum/e1 table/b view/v1 table/c other/x
V:v1'
	run -0 sh -c 'sluice render --all s.tmpl < recs.jsonl | jq -r .content'
	assert_output "$expect"
	# a section that names a list of the records, and one outside a
	# section: every record is kept, for both templates
	printf '%s\n' '{{#tables}}{{name}}<{{#enums}}{{name}}{{/enums}}>{{/tables}}|{{^views}}none{{/views}}' > f.tmpl
	run -0 sh -c 'sluice render --all s.tmpl f.tmpl < recs.jsonl | jq -r .content'
	assert_output "$expect

a<e1>b<e1>c<e1>|"
	run -0 sh -c 'sluice render --all s.tmpl < /dev/null | jq -r .content'
	assert_output $'T:\nE:\nR:\nV:'
	# a bad record still names its line, and nothing is written
	printf '{"v":1,"kind":"table","name":"d"}\n{"v":1,"kind":\n' >> recs.jsonl
	run -65 --separate-stderr sh -c 'sluice render --all s.tmpl < recs.jsonl'
	assert_output ""
	[[ "$stderr" == "render: <stdin>:8:"* ]]
}

@test "stages-4.5b: render --all: rendered text beyond --buffer-size waits in TMPDIR until the end; the output is the same from memory, a file, a full or a missing TMPDIR; a bad record leaves nothing" {
	big_schema
	sluice relations < in.jsonl > r.jsonl
	mv r.jsonl in.jsonl
	cp "$ROOT"/examples/zero/*.tmpl .
	set -- --all --path generated-schema.ts --path index.ts schema.ts.tmpl index.ts.tmpl
	sluice render --buffer-size 1G "$@" < in.jsonl > mem.jsonl
	assert_equal "$(jq -r .path mem.jsonl)" $'generated-schema.ts\nindex.ts'
	assert_equal "$(jq -r 'select(.path == "generated-schema.ts") | .content' mem.jsonl | grep -c '^const table_[0-9]*Table = table(')" 1000
	BYTES=$(jq -r .content mem.jsonl | wc -c) spill_check render "$@"
}

@test "stages-4.3: the template compiler (t-tmpl): sections, tests, partials, filters, standalone lines" {
	[ -x "$ROOT/test/unit/t-tmpl" ] || skip "unit programs not built (make unit)"
	cat > a.tmpl <<-'T'
	{{! a comment line }}
	Table {{name|singular|pascal}} ({{name|ts}}):
	{{#columns}}
	  {{name}}{{^@last}},{{/@last}} {{#null}}nullable{{/null}}{{^null}}required{{/null}}
	{{/columns}}
	{{#indexes?}}
	has indexes
	{{/indexes?}}
	{{>part.tmpl}}
	{{meta.owner.name|upper}} {{#columns}}{{@index}}{{/columns}} {{missing}}|{{quote|ts}}
	T
	printf 'partial: {{name|kebab}} {{name|camel}} {{name|snake}}\n' > part.tmpl
	run -0 "$ROOT/test/unit/t-tmpl" a.tmpl <<< '{"name":"chat_people","quote":"it'"'"'s\n","columns":[{"name":"id","null":false},{"name":"bio","null":true}],"indexes":[],"meta":{"owner":{"name":"x"}}}'
	assert_output "Table ChatPerson ('chat_people'):
  id, required
  bio nullable
partial: chat-people chatPeople chat_people
X 01 |'it\\'s\\n'"
}

@test "stages-4.3b: the template compiler (t-tmpl): a name after a dot is the current value's only, never an enclosing one's" {
	[ -x "$ROOT/test/unit/t-tmpl" ] || skip "unit programs not built (make unit)"
	cat > a.tmpl <<-'T'
	{{#columns}}
	{{name}}: {{from}}|{{.from}}|{{#.from}}.from({{.}}){{/.from}}{{^.from}}own{{/.from}}|{{.meta.x}}
	{{/columns}}
	T
	run -0 "$ROOT/test/unit/t-tmpl" a.tmpl <<< '{"from":"t","columns":[{"name":"a"},{"name":"b","from":"bee","meta":{"x":1}}]}'
	assert_output "a: t||own|
b: bee|bee|.from(bee)|1"
	# an unclosed ".name" section says so, by that name
	printf '{{#.from}}x\n' > b.tmpl
	run -1 "$ROOT/test/unit/t-tmpl" b.tmpl <<< '{}'
	assert_output "b.tmpl:1:1: unclosed section '.from': expected '{{/.from}}' before the end"
}

@test "stages-4.3c: the template compiler (t-tmpl): a record's pieces made at once, as render --all caches them, give the same text; those that name the record's place are streamed" {
	[ -x "$ROOT/test/unit/t-tmpl" ] || skip "unit programs not built (make unit)"
	# tables: @last of a record's own list is its own; @index under a
	# section that is no list is the record's place (b and d); records:
	# every kind, @first of the record itself (all of them)
	cat > a.tmpl <<-'T'
	head
	{{#tables}}
	{{name}}:{{#cols}} {{.}}{{^@last}},{{/@last}}{{/cols}}{{#note}} [{{@index}}]{{/note}}
	{{/tables}}
	{{#enums}}
	enum {{name}}
	{{/enums}}
	end
	T
	cat > in.jsonl <<-'J'
	{"kind":"table","name":"a","cols":["x","y"]}
	{"kind":"table","name":"b","cols":["z"],"note":"n"}
	{"kind":"enum","name":"e"}
	{"kind":"table","name":"c","cols":[]}
	{"kind":"table","name":"d","cols":["w"],"note":"m"}
	J
	run -0 --separate-stderr "$ROOT/test/unit/t-tmpl" a.tmpl --pieces < in.jsonl
	want="head
a: x, y
b: z [1]
c:
d: w [3]
enum e
end"
	assert_output "$want"
	assert_equal "$stderr" "pieces: 3 of 5 records"
	run -0 "$ROOT/test/unit/t-tmpl" a.tmpl --all < in.jsonl
	assert_output "$want"
	printf '{{#records}}{{^@first}},{{/@first}}{{name}}{{/records}}\n' > b.tmpl
	run -0 --separate-stderr "$ROOT/test/unit/t-tmpl" b.tmpl --pieces < in.jsonl
	assert_output "a,b,e,c,d"
	assert_equal "$stderr" "pieces: 0 of 5 records"
}

@test "stages-5.1: write: a path outside DIR is refused and nothing is written" {
	for p in /etc/x ../x a/../../x ''; do
		printf '{"v":1,"kind":"file","path":"ok.ts","content":"x"}\n{"v":1,"kind":"file","path":"%s","content":"x"}\n' "$p" > in.jsonl
		run -65 --separate-stderr sluice write out < in.jsonl
		assert_output ''
		assert_equal "$(cut -d: -f1-3 <<< "$stderr")" "write: <stdin>:2"
		assert_file_not_exists out/ok.ts
	done
	mkdir -p out && ln -s /tmp out/link
	printf '{"v":1,"kind":"file","path":"ok.ts","content":"x"}\n{"v":1,"kind":"file","path":"link/x.ts","content":"x"}\n' > in.jsonl
	run -65 --separate-stderr sluice write out < in.jsonl
	assert_equal "$stderr" "write: <stdin>:2: 'link/x.ts' is outside 'out' or unsafe: a symbolic link on the way"
	assert_file_not_exists out/ok.ts
	# the file itself a link
	ln -s /tmp/nowhere out/self.ts
	echo '{"v":1,"kind":"file","path":"self.ts","content":"x"}' > self.jsonl
	run -65 --separate-stderr sluice write out < self.jsonl
	assert_equal "$stderr" "write: <stdin>:1: 'self.ts' is outside 'out' or unsafe: a symbolic link there"
	rm out/self.ts
}

@test "stages-5.5: write: records are staged as they come; a bad one late leaves no trace; more records than descriptors" {
	mkdir top
	for i in $(seq 300); do
		printf '{"v":1,"kind":"file","path":"t/f%d.ts","content":"%d"}\n' "$i" "$i"
	done > good.jsonl
	{ cat good.jsonl; printf '{"v":1,"kind":"file","path":"../x","content":"x"}\n'; } > bad.jsonl
	# no DIR yet: none is made, and nothing is left beside it
	run -65 --separate-stderr sluice write top/out < bad.jsonl
	assert_equal "$(cut -d: -f1-3 <<< "$stderr")" "write: <stdin>:301"
	assert_equal "$(ls -A top)" ''
	run -0 sluice write top/out < good.jsonl
	assert_output 'top/out: 300 written, 0 unchanged, 0 pruned'
	# DIR there: every file, and its times, as it was
	sed 's/"content":"\([0-9]*\)"/"content":"v\1"/' bad.jsonl > bad2.jsonl
	before=$(cd top && ls -A --full-time -R | md5sum)
	run -65 sluice write top/out < bad2.jsonl
	assert_equal "$(cd top && ls -A --full-time -R | md5sum)" "$before"
	assert_equal "$(cat top/out/t/f7.ts)" 7
	# fewer descriptors than records: those past the limit wait in
	# memory, and all are written
	sed 's/"content":"\([0-9]*\)"/"content":"w\1"/' good.jsonl > good2.jsonl
	run -0 bash -c 'ulimit -n 128 && exec sluice write top/out < good2.jsonl'
	assert_output 'top/out: 300 written, 0 unchanged, 0 pruned'
	assert_equal "$(cat top/out/t/f1.ts) $(cat top/out/t/f300.ts)" 'w1 w300'
	assert_equal "$(ls -A top/out/t | wc -l)" 300
	assert_equal "$(ls -A top/out)" '.sluice-manifest
.sluice-stamp
t'
}

@test "stages-5.3: write: two records for one path name both lines, nothing written" {
	printf '{"v":1,"kind":"file","path":"a.ts","content":"1"}\n{"v":1,"kind":"file","path":"b.ts","content":"2"}\n{"v":1,"kind":"file","path":"a.ts","content":"3"}\n' > in.jsonl
	run -65 --separate-stderr sluice write out < in.jsonl
	assert_equal "$stderr" "write: <stdin>:3: 'a.ts' is written twice (first by the record of line 1): two tables whose names give the same path?"
	assert_file_not_exists out/a.ts
	assert_file_not_exists out/b.ts
}

@test "stages-5.3b: write: a file where another record needs a directory, a control character in a path, a name longer than NAME_MAX, a FIFO at a path: refused, nothing written" {
	printf '{"v":1,"kind":"file","path":"a/b","content":"1"}\n{"v":1,"kind":"file","path":"c","content":"2"}\n{"v":1,"kind":"file","path":"a","content":"3"}\n' > in.jsonl
	run -65 --separate-stderr sluice write out < in.jsonl
	assert_equal "$stderr" "write: <stdin>:1: 'a/b' needs 'a' to be a directory, but the record of line 3 writes a file there"
	assert_not_exists out
	# a newline would make two lines of the manifest: --prune would
	# then remove a file named by its second part
	mkdir out
	echo mine > out/notes.txt
	printf '%s\n' '{"v":1,"kind":"file","path":"gen\nnotes.txt","content":"g"}' > nl.jsonl
	run -65 --separate-stderr sluice write out < nl.jsonl
	assert_equal "$stderr" "write: <stdin>:1:29: 'gen\\nnotes.txt' is outside 'out': a control character in the path"
	assert_equal "$(ls -A out)" "notes.txt"
	# a name the file system would refuse is refused with the records,
	# before any directory is made
	long=$(printf 'b%.0s' $(seq 1 256))
	printf '{"v":1,"kind":"file","path":"a.ts","content":"a"}\n{"v":1,"kind":"file","path":"sub/%s","content":"x"}\n' "$long" > long.jsonl
	run -65 --separate-stderr sluice write out < long.jsonl
	assert_equal "$stderr" "write: <stdin>:2:29: 'sub/$long' is outside 'out': a part of the path longer than NAME_MAX (255 bytes)"
	assert_equal "$(ls -A out)" "notes.txt"
	mkfifo out/f
	echo '{"v":1,"kind":"file","path":"f","content":"y"}' > f.jsonl
	run -65 --separate-stderr timeout 60 sluice write out < f.jsonl
	assert_equal "$stderr" "write: <stdin>:1: 'f' is outside 'out' or unsafe: not a regular file"
	[ -p out/f ]
}

@test "stages-5.4: write: the same input over files as it left them is found by their stamp, a changed file is not" {
	command -v strace > /dev/null || skip "strace is not installed (make deps)"
	printf '{"v":1,"kind":"file","path":"a/b.ts","content":"1"}\n{"v":1,"kind":"file","path":"c.ts","content":"2"}\n' > in.jsonl
	run -0 sluice write out < in.jsonl
	assert_output 'out: 2 written, 0 unchanged, 0 pruned'
	assert_file_exists out/.sluice-stamp
	# nothing to do: no file is opened, only looked at
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 strace -f -e trace=openat,open -o trace.txt sluice write --verbose out < in.jsonl
	assert_output 'unchanged a/b.ts
unchanged c.ts
out: 0 written, 2 unchanged, 0 pruned'
	run grep -c 'c\.ts\|b\.ts' trace.txt
	assert_output 0
	# other input, one file's content changed: the other, as the stamp
	# says the last run left it, is not opened either
	printf '{"v":1,"kind":"file","path":"a/b.ts","content":"1"}\n{"v":1,"kind":"file","path":"c.ts","content":"3"}\n' > in2.jsonl
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 strace -f -e trace=openat,open -o trace.txt sluice write out < in2.jsonl
	assert_output 'out: 1 written, 1 unchanged, 0 pruned'
	run grep -c 'b\.ts' trace.txt
	assert_output 0
	assert_equal "$(cat out/c.ts)" 3
	run -0 sluice write out < in.jsonl
	assert_output 'out: 1 written, 1 unchanged, 0 pruned'
	# a file changed behind its back, even with its old mtime: written
	printf '9' > out/c.ts
	touch -d "$(date -d @"$(stat -c %Y out/a/b.ts)")" out/c.ts
	run -0 sluice write out < in.jsonl
	assert_output 'out: 1 written, 1 unchanged, 0 pruned'
	assert_equal "$(cat out/c.ts)" 2
	# a file gone: written again
	rm out/a/b.ts
	run -0 sluice write out < in.jsonl
	assert_output 'out: 1 written, 1 unchanged, 0 pruned'
	assert_equal "$(cat out/a/b.ts)" 1
	# a directory on the way replaced by a symbolic link to it, every
	# file still the one the stamp names: refused, not vouched for
	mv out/a out/a.real
	ln -s a.real out/a
	run -65 --separate-stderr sluice write out < in.jsonl
	assert_output ''
	assert_equal "$stderr" "write: <stdin>:1: 'a/b.ts' is outside 'out' or unsafe: a symbolic link on the way"
	rm out/a
	mv out/a.real out/a
	# the stamp is not a path a record may name
	printf '{"v":1,"kind":"file","path":".sluice-stamp","content":"x"}\n' > bad.jsonl
	run -65 --separate-stderr sluice write out < bad.jsonl
	assert_equal "$stderr" "write: <stdin>:1:29: '.sluice-stamp' is outside 'out': the stamp's name"
}

@test "stages-5.4b: write: a record the same as last time is taken by its stamp line, but never a path the stamp should not hold" {
	printf '{"v":1,"kind":"file","path":"a/b.ts","content":"1"}\n{"v":1,"kind":"file","path":"c.ts","content":"2"}\n' > in.jsonl
	run -0 sluice write out < in.jsonl
	# the stamp keeps each record line's digest: the same input with
	# one line changed takes the other by it, unchanged
	printf '{"v":1,"kind":"file","path":"a/b.ts","content":"1"}\n{"v":1,"kind":"file","path":"c.ts","content":"3"}\n' > in2.jsonl
	run -0 sluice write --verbose out < in2.jsonl
	assert_output 'unchanged a/b.ts
written c.ts
out: 1 written, 1 unchanged, 0 pruned'
	run -0 awk 'NR > 1 { print $6, $7 }' out/.sluice-stamp
	assert_line --index 0 --regexp '^[0-9a-f]{32} a/b.ts$'
	# a stamp line edited to name a file outside, that stat(2) finds
	# as the line says (a hard link, its figures written in): not
	# used, so the record is read and keeps its own path
	ln out/a/b.ts b.ts
	sed -i "s|^[0-9]* [0-9]* [0-9.]* [0-9.]* \(.*\) a/b.ts\$|$(stat -c '%i %s %.9Y %.9Z' b.ts) \1 ../b.ts|" out/.sluice-stamp
	run -0 grep -c ' \.\./b\.ts$' out/.sluice-stamp
	assert_output 1
	run -0 sluice write --verbose out < in.jsonl
	assert_output 'unchanged a/b.ts
written c.ts
out: 1 written, 1 unchanged, 0 pruned'
	assert_equal "$(cat out/.sluice-manifest)" 'a/b.ts
c.ts'
}

@test "stages-5.6: write: with sluice's digest of the input as the stamp has it and the files as they were, the input is not read" {
	printf '{"v":1,"kind":"file","path":"a/b.ts","content":"1"}\n{"v":1,"kind":"file","path":"c.ts","content":"2"}\n' > in.jsonl
	d=0123456789abcdef0123456789abcdef
	printf '%s\n' "$d" > d1
	printf '%s\n' "${d%?}e" > d2
	SLUICE_STDIN_DIGEST_FD=5 run -0 sluice write --prune out < in.jsonl 5< d1
	assert_output 'out: 2 written, 0 unchanged, 0 pruned'
	assert_equal "$(head -n 1 out/.sluice-stamp)" "sluice-write-stamp 4 $d"
	# nothing on stdin, which read would have pruned all: not read
	SLUICE_STDIN_DIGEST_FD=5 run -0 sluice write --prune out < /dev/null 5< d1
	assert_output 'out: 0 written, 2 unchanged, 0 pruned'
	assert_equal "$(cat out/a/b.ts out/c.ts)" 12
	# another digest: read, and the same files are unchanged
	SLUICE_STDIN_DIGEST_FD=5 run -0 sluice write --prune out < in.jsonl 5< d2
	assert_output 'out: 0 written, 2 unchanged, 0 pruned'
	# a file changed behind its back: the stamp no longer holds, the
	# input is read and the file written again
	printf 9 > out/c.ts
	SLUICE_STDIN_DIGEST_FD=5 run -0 sluice write --prune out < in.jsonl 5< d2
	assert_output 'out: 1 written, 1 unchanged, 0 pruned'
	assert_equal "$(cat out/c.ts)" 2
	# closed empty, or not a digest: the input is read
	SLUICE_STDIN_DIGEST_FD=5 run -0 sluice write --prune out < /dev/null 5< /dev/null
	assert_output 'out: 0 written, 0 unchanged, 2 pruned'
}

@test "stages-5.2: write: unchanged files keep their mtime; --prune removes only what it made" {
	printf '{"v":1,"kind":"file","path":"a/b.ts","content":"1"}\n{"v":1,"kind":"file","path":"c.ts","content":"2"}\n' > in.jsonl
	run -0 sh -c 'umask 027 && sluice write out < in.jsonl'
	assert_output 'out: 2 written, 0 unchanged, 0 pruned'
	# new files are linked in complete, with the umask's mode, and no
	# temporary file is left beside them
	assert_equal "$(cat out/a/b.ts out/c.ts)" "12"
	assert_equal "$(stat -c %a out/a/b.ts out/c.ts | sort -u)" "640"
	assert_equal "$(ls -A out out/a | grep -c sluice-tmp)" "0"
	touch -d '2001-01-01' out/a/b.ts
	run -0 sluice write --prune out < in.jsonl
	assert_output 'out: 0 written, 2 unchanged, 0 pruned'
	assert_equal "$(stat -c %Y out/a/b.ts)" "$(date -d 2001-01-01 +%s)"
	echo mine > out/mine.ts
	head -1 in.jsonl | sluice write --prune out
	assert_file_not_exists out/c.ts
	assert_file_exists out/mine.ts
	assert_file_exists out/a/b.ts
}

@test "stages-5.7: write: files committed before a failure (a directory that takes no file) are in the manifest, so --prune still knows them" {
	mkdir -p out/sub
	chattr +i out/sub 2>/dev/null || skip "no immutable attribute on this file system"
	imm=$PWD/out/sub
	rec() { printf '{"v":1,"kind":"file","path":"%s","content":"%s"}\n' "$1" "$2"; }
	rec x.ts x | sluice write out
	{ rec a.ts a; rec sub/b.ts b; rec c.ts c; } > in.jsonl
	run -73 --separate-stderr sluice write --prune out < in.jsonl
	assert_equal "$stderr" "write: sub/b.ts: Operation not permitted"
	chattr -i "$imm"
	assert_equal "$(cat out/a.ts)" a
	assert_file_not_exists out/c.ts
	assert_equal "$(cat out/.sluice-manifest)" "a.ts
x.ts"
	assert_equal "$(ls -A out | grep -c sluice-tmp)" "0"
	# no stamp vouches for the files as the run before left them: the
	# same input as then prunes what the failed run put in place
	assert_file_not_exists out/.sluice-stamp
	run -0 sh -c 'printf "%s\n" "{\"v\":1,\"kind\":\"file\",\"path\":\"x.ts\",\"content\":\"x\"}" | sluice write --prune out'
	assert_output 'out: 0 written, 1 unchanged, 1 pruned'
	assert_file_not_exists out/a.ts
	rec y.ts y | sluice write --prune out
	assert_file_not_exists out/x.ts
	assert_equal "$(cat out/y.ts)" y
}

@test "stages-5.8: write: a DIR not there yet is built hidden beside it and renamed into place; a refusal, a signal or a DIR made meanwhile leaves nothing of it" {
	mkdir top
	rec() { printf '{"v":1,"kind":"file","path":"%s","content":"%s"}\n' "$1" "$2"; }
	hidden() { compgen -G 'top/.out.sluice-new.*'; }
	# ended (gone, or a zombie), not waited for without a bound
	ended() { ! [ -d "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"; }
	# while the records come, only the hidden directory is there
	mkfifo in.fifo
	sluice write top/out < in.fifo > out.txt 2> err.txt 3>&- &
	pid=$!
	exec 8> in.fifo
	{ rec a.ts a; rec sub/b.ts b; } >&8
	wait_until 30 eval '[ -f "$(hidden)/sub/b.ts" ]'
	assert_equal "$(hidden)" "top/.out.sluice-new.$pid"
	assert_not_exists top/out
	rec c.ts c >&8
	exec 8>&-
	wait "$pid"
	assert_equal "$(cat out.txt)" 'top/out: 3 written, 0 unchanged, 0 pruned'
	assert_equal "$(ls -A top)" out
	assert_equal "$(cat top/out/a.ts top/out/sub/b.ts top/out/c.ts)" abc
	assert_equal "$(cat top/out/.sluice-manifest)" 'a.ts
c.ts
sub/b.ts'
	# its stamp holds: the same input again is found without a file read
	run -0 sluice write top/out < <(rec a.ts a; rec sub/b.ts b; rec c.ts c)
	assert_output 'top/out: 0 written, 3 unchanged, 0 pruned'
	# a refusal found once every file was written there leaves nothing
	run -65 --separate-stderr sluice write top/new < <(rec a.ts a; rec b.ts b; rec a.ts c)
	assert_equal "$stderr" "write: <stdin>:3: 'a.ts' is written twice (first by the record of line 1): two tables whose names give the same path?"
	assert_equal "$(ls -A top)" out
	# SIGTERM and SIGINT remove what was built, and the signal ends it
	for sig in TERM INT; do
		rm -rf top/new
		# a background job starts with SIGINT ignored: not this one
		env --default-signal=INT sluice write top/new < in.fifo \
		    2> err.txt 3>&- &
		pid=$!
		exec 8> in.fifo
		rec a.ts a >&8
		wait_until 30 test -f "top/.new.sluice-new.$pid/a.ts"
		kill -s "$sig" "$pid"
		wait_until 30 ended "$pid"
		status=0
		wait "$pid" || status=$?
		exec 8>&-
		assert_equal "$status" "$(( 128 + $(kill -l "$sig") ))"
		assert_equal "$(ls -A top)" out
	done
	# a directory made by another meanwhile: kept as it is, nothing written
	sluice write top/new < in.fifo > out.txt 2> err.txt 3>&- &
	pid=$!
	exec 8> in.fifo
	rec a.ts a >&8
	wait_until 30 test -f "top/.new.sluice-new.$pid/a.ts"
	mkdir top/new
	echo mine > top/new/notes.txt
	exec 8>&-
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 73
	assert_equal "$(cat err.txt)" "write: top/new: made by another while this run wrote its files: nothing written; run again"
	assert_equal "$(ls -A top/new)" notes.txt
	assert_equal "$(ls -A top)" 'new
out'
	rm -r top/new
	# what a killed run left is removed by the next one; one whose
	# process is still there is not
	mkdir -p top/.new.sluice-new.2147483646/sub "top/.new.sluice-new.$$"
	echo x > top/.new.sluice-new.2147483646/sub/a.ts
	run -0 sluice write top/new < <(rec a.ts a)
	assert_equal "$(ls -A top)" ".new.sluice-new.$$
new
out"
}
