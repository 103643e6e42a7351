ActiveRecord::Schema[8.0].define(version: 1) do
  create_table "a", comment: "bad \uZZ" do |t|
  end
end
