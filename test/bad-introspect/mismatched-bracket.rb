ActiveRecord::Schema[8.0].define(version: 1) do
  create_table "a" do |t|
    t.index ["name", "id", name: "x"
  end
end
