ActiveRecord::Schema[8.0].define(version: 2025_01_01_000000) do
  create_table "posts", force: :cascade, engine: "InnoDB" do |t|
    t.string "title", null: false, shiny: true
    t.st_point "where"
    t.exclusion_constraint "tsrange(a, b) WITH &&", using: :gist
    execute "SELECT 1"
    t.text "body", default: BigDecimal("1.0")
  end

  create_trigger :posts_touch, sql_definition: <<~SQL
    CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();
  SQL
  add_index "comments", ["post_id"], name: "index_comments_on_post_id"
  add_foreign_key "posts", "users"
  change_column_default "posts", "title", "x"
end
