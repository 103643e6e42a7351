ActiveRecord::Schema[8.0].define(version: 1) do
  create_table "a\0b" do |t|
  end
end
