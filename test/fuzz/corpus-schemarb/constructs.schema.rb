# Every construct introspect(1) understands in a Rails schema.rb.
ActiveRecord::Schema[7.1].define(version: 2024_01_31_120000) do
  enable_extension "pgcrypto"
  create_schema "audit"
  create_enum "mood", ["happy", "sad"]

  create_function :touch_updated_at, sql_definition: <<-'SQL'
      CREATE OR REPLACE FUNCTION public.touch_updated_at()
       RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$
  SQL

  create_table "people", id: :serial, force: :cascade, comment: "Humans \"and\" others" do |t|
    t.string "name", limit: 120, null: false, collation: "C", comment: 'the name'
    t.decimal "balance", precision: 19, scale: 4, default: "0.0"
    t.text "tags", default: [], array: true
    t.jsonb "prefs", default: {}
    t.datetime "seen_at", precision: 6, default: -> { "CURRENT_TIMESTAMP" }
    t.enum "mood", default: "happy", enum_type: "mood"
    t.integer "big", default: 1_000_000
    t.float "ratio", default: -0.5
    t.text "body", size: :medium
    t.virtual "name_upper", type: :string, as: "upper((name)::text)", stored: true
    t.references "team", polymorphic: true, null: false
    t.belongs_to "account", foreign_key: true, type: :uuid
    t.timestamps
    t.index "lower((name)::text)", name: "index_people_on_lower_name", unique: true
    t.index ["seen_at", "name"], name: "index_people_on_seen", order: { seen_at: :desc }, where: "(seen_at IS NOT NULL)", using: :btree, opclass: { name: :text_pattern_ops }
    t.check_constraint "big > 0", name: "big_positive", validate: false
  end

  create_table "accounts", id: :uuid, default: -> { "gen_random_uuid()" }, charset: "utf8mb4", force: :cascade do |t|
    t.string "code", null: false
  end

  create_table "audit.events", id: false, force: :cascade do |t|
    t.bigint "id", null: false
    t.string "kind"
  end

  create_table "memberships", primary_key: ["person_id", "account_id"], force: :cascade do |t|
    t.integer "person_id", null: false
    t.uuid "account_id", null: false
  end

  create_table "codes", primary_key: "code", id: :string, limit: 8, force: :cascade do |t|
    t.string "label"
  end

  add_index "codes", ["label"], name: "index_codes_on_label", unique: true
  add_check_constraint "codes", "char_length(label) > 0", name: "label_present"

  # Virtual tables defined in this database.
  create_virtual_table "people_fts", "fts5", ["name", "tokenize=porter"]

  add_foreign_key "memberships", "people", on_delete: :cascade
  add_foreign_key "memberships", "accounts", column: "account_id", primary_key: "id", validate: false
  add_foreign_key "people", "people", column: ["big", "team_id"], primary_key: ["id", "id"], name: "fk_self", deferrable: :deferred
  add_foreign_key "audit.events", "people", column: "id"
end
