ActiveRecord::Schema[8.0].define(version: 1) do
  create_function :f, sql_definition: <<-SQL
    SELECT 1;
  SQ
end
