/*
 * inflect.h: Rails' English inflections (ActiveSupport's Inflector):
 * singular and plural forms from ordered regex rules, irregulars and
 * uncountables, plus the name transformations built on them (camelize,
 * underscore, dasherize, classify).
 *
 * Results are appended to a caller's struct buf (the caller frees it).
 * The rule tables are process-wide and compiled on first use; rules,
 * irregulars and uncountables added later take precedence, as in
 * ActiveSupport.  Not thread-safe.
 */
#ifndef INFLECT_H
#define INFLECT_H

struct buf;

void	inflect_singular(struct buf *, const char *);
void	inflect_plural(struct buf *, const char *);

/*
 * Rules in Ruby regex syntax (the subset ActiveSupport's rules use:
 * literals, [classes], groups with |, (?:...), ?, *, +, ^ and $;
 * always case-insensitive); the replacement may name groups \1-\9.
 * 0, or -1 when the rule does not compile.
 */
int	inflect_add_plural(const char *, const char *);
int	inflect_add_singular(const char *, const char *);
void	inflect_add_irregular(const char *, const char *);
void	inflect_add_uncountable(const char *);

/* "active_record/errors" -> "ActiveRecord::Errors" minus the ::, as
   Rails' camelize; lower makes the first letter lower case */
void	inflect_camelize(struct buf *, const char *, int lower);
/* "ActiveModel" -> "active_model"; also "Order Details" ->
   "order_details" (runs of other characters become one _) */
void	inflect_underscore(struct buf *, const char *);
/* underscore, then _ -> - */
void	inflect_dasherize(struct buf *, const char *);
/* "people" -> "Person": camelize(singularize(name)) */
void	inflect_classify(struct buf *, const char *);

#endif
