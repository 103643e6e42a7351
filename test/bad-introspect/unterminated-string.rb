ActiveRecord::Schema[8.0].define(version: 1) do
  create_table "a", force: :cascade do |t|
    t.string "name, null: false
  end
end
