ActiveRecord::Schema.load(version: 1) do
end
