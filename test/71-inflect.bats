#!/usr/bin/env bats
# 71-inflect: Rails' inflections in src/lib/inflect.c (test/unit/t-inflect)

load helper

@test "inflect-1.1: ActiveSupport's rules, irregulars, uncountables and every table name" {
	[ -x "$ROOT/test/unit/t-inflect" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-inflect" < "$ROOT/test/unit/t-inflect.in"
	diff -u "$ROOT/test/unit/t-inflect.out" - <<< "$output"
}

@test "inflect-1.2: the issue's words" {
	[ -x "$ROOT/test/unit/t-inflect" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-inflect" <<-'IN'
	singular people
	singular metadata
	singular statuses
	singular indices
	singular bases
	singular series
	singular information
	singular aliases
	singular moves
	singular data
	classify people
	IN
	assert_output "singular people -> person
singular metadata -> metadatum
singular statuses -> status
singular indices -> index
singular bases -> basis
singular series -> series
singular information -> information
singular aliases -> alias
singular moves -> move
singular data -> datum
classify people -> Person"
}

@test "inflect-1.3: a rule's last letter rules words out only where it must" {
	[ -x "$ROOT/test/unit/t-inflect" ] || skip "unit programs not built (make unit)"
	# "...c$" rules skip words not ending in c; a | outside parentheses,
	# a class or a group before $ leaves the rule to the matcher
	run -0 "$ROOT/test/unit/t-inflect" <<-'IN'
	rule-singular zork$ ZK
	singular zork
	singular Zork
	singular zorq
	rule-singular ab$|cd$ AB
	singular xab
	singular xcd
	rule-singular [|]q$ PIPE
	singular |q
	rule-singular (ee|ff)$ EF
	singular xff
	IN
	assert_output "rule-singular zork$ ZK -> ok
singular zork -> ZK
singular Zork -> ZK
singular zorq -> zorq
rule-singular ab$|cd$ AB -> ok
singular xab -> xAB
singular xcd -> xAB
rule-singular [|]q$ PIPE -> ok
singular |q -> PIPE
rule-singular (ee|ff)$ EF -> ok
singular xff -> xEF"
}
