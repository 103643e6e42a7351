# encoding: UTF-8
# A Rails 4 era dump: old header, hash rockets, implicit integer ids.
ActiveRecord::Schema.define(:version => 20140101000000) do

  create_table "users", :force => true do |t|
    t.string   "email",      :default => "", :null => false
    t.boolean  "admin",      :default => false
    t.datetime "created_at"
  end

  add_index "users", ["email"], :name => "index_users_on_email", :unique => true

  create_table "people_tags", :id => false, :force => true do |t|
    t.integer "person_id"
    t.integer "tag_id"
  end

  create_table "people" do |t|
    t.references :user, index: true, foreign_key: true
    t.timestamps null: false
  end

end
