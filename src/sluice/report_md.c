/*
 * report_md.c: the report as Markdown (CommonMark with GitHub tables,
 * no raw HTML): every text from the record is escaped, so a stage name
 * or a failure reason cannot break a table or open a tag.  No I/O.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "banned.h"

/* text in a table cell or a paragraph: punctuation escaped, one line */
static void
md_text(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_adds(b, "-");
		return;
	}
	for (; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			buf_addc(b, ' ');
		else {
			if (strchr("\\`*_[]<>|#~!&{}", *s) != NULL)
				buf_addc(b, '\\');
			buf_addc(b, *s);
		}
	}
}

static void
md_dur(struct buf *b, int64_t us)
{
	char	 t[32];

	rep_dur(us, t, sizeof(t));
	buf_adds(b, t);
}

static void
md_kb(struct buf *b, int64_t kb)
{
	char	 t[32];

	rep_size_kb(kb, t, sizeof(t));
	buf_adds(b, t);
}

static void
md_bytes(struct buf *b, int64_t n)
{
	char	 t[32];

	rep_bytes(n, t, sizeof(t));
	buf_adds(b, t);
}

static void
md_pct(struct buf *b, double x)
{
	char	 t[32];

	rep_pct(x, t, sizeof(t));
	buf_adds(b, t);
}

static void
md_head(const struct report *r, struct buf *b)
{
	char	 date[64];

	rep_date(r->start_ms, date, sizeof(date));
	buf_adds(b, "# sluice report: ");
	md_text(b, r->pipeline != NULL ? r->pipeline : "unnamed");
	buf_adds(b, "\n\n| Run | Pipeline file | Profile | Host | Started | "
	    "Jobs | Keep going | Outcome |\n|---|---|---|---|---|---:|---|---|\n"
	    "| ");
	md_text(b, r->run);
	buf_adds(b, " | ");
	md_text(b, r->file);
	buf_adds(b, " | ");
	md_text(b, r->profile);
	buf_adds(b, " | ");
	md_text(b, r->host);
	buf_printf(b, " | %s | %d | %s | **", date, r->jobs,
	    r->keep_going ? "yes" : "no");
	md_text(b, r->status);
	buf_adds(b, "**");
	if (r->signal > 0)
		buf_printf(b, " (signal %d)", r->signal);
	buf_adds(b, " |\n");
}

static void
md_totals(const struct report *r, struct buf *b)
{
	buf_adds(b, "\n## Totals\n\n| Wall | CPU | Utilisation | Parallel "
	    "efficiency | Peak RSS | Cache hit rate | Stages | Failed | "
	    "Processes | Most at once |\n"
	    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n| ");
	md_dur(b, r->wall_us);
	buf_adds(b, " | ");
	md_dur(b, r->cpu_us);
	buf_printf(b, " | %.2f CPUs | ", r->utilisation);
	md_pct(b, r->efficiency);
	buf_adds(b, " | ");
	md_kb(b, r->peak_rss_kb);
	if (r->peak_sum_rss_kb >= 0) {
		buf_adds(b, " (all at once ");
		md_kb(b, r->peak_sum_rss_kb);
		buf_adds(b, ")");
	}
	buf_adds(b, " | ");
	if (r->lookups > 0) {
		md_pct(b, (double)r->hits / r->lookups);
		buf_printf(b, " (%d of %d)", r->hits, r->lookups);
	} else
		buf_adds(b, "-");
	buf_printf(b, " | %zu | %d | %d | %d |\n", r->nst, r->failed,
	    r->nproc, r->max_conc);
}

static void
md_critical(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "\n## Critical path\n\n");
	if (r->ncrit == 0) {
		buf_adds(b, "No stage ran.\n");
		return;
	}
	buf_printf(b, "%zu stage%s, ", r->ncrit, r->ncrit == 1 ? "" : "s");
	md_dur(b, r->crit_us);
	buf_adds(b, r->crit_given ? " (from the run record): " : ": ");
	for (i = 0; i < r->ncrit; i++) {
		if (i > 0)
			buf_adds(b, " → ");
		md_text(b, r->st[r->crit[i]].name);
	}
	buf_adds(b, "\n\n| Stage | Ends at | Share of the wall time |\n"
	    "|---|---:|---:|\n");
	for (i = 0; i < r->ncrit; i++) {
		const struct rep_stage *S = &r->st[r->crit[i]];

		buf_adds(b, "| ");
		md_text(b, S->name);
		buf_adds(b, " | ");
		md_dur(b, S->end_us);
		buf_adds(b, " | ");
		md_dur(b, S->crit_us);
		if (r->wall_us > 0) {
			buf_adds(b, " (");
			md_pct(b, (double)S->crit_us / r->wall_us);
			buf_adds(b, ")");
		}
		buf_adds(b, " |\n");
	}
}

static void
md_stage(const struct report *r, const struct rep_stage *S, struct buf *b)
{
	buf_adds(b, "| ");
	if (S->critical)
		buf_adds(b, "**");
	md_text(b, S->name);
	if (S->critical)
		buf_adds(b, "**");
	buf_adds(b, " | ");
	md_text(b, S->state);
	if (S->reason != NULL) {
		buf_adds(b, ": ");
		md_text(b, S->reason);
	}
	buf_printf(b, " | %d | ", S->attempts);
	if (S->nprocs == 0) {
		buf_adds(b, "- | - | - | - | - | - | ");
	} else {
		md_dur(b, S->start_us);
		buf_adds(b, " | ");
		md_dur(b, S->wall_us);
		buf_adds(b, " | ");
		md_dur(b, S->cpu_us);
		buf_adds(b, " | ");
		md_kb(b, S->max_rss_kb);
		buf_adds(b, " | ");
		md_bytes(b, S->rchar);
		buf_adds(b, " | ");
		md_bytes(b, S->wchar);
		buf_adds(b, " | ");
	}
	md_text(b, S->cache);
	if (S->category != NULL) {
		buf_adds(b, " (");
		md_text(b, S->category);
		buf_adds(b, ")");
	}
	buf_adds(b, " | ");
	rep_exit(S, b);
	buf_adds(b, " |\n");
	(void)r;
}

static void
md_stages(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "\n## Stages\n\nIn order of start; stages on the critical "
	    "path are in bold.  Read and written count the bytes passed to "
	    "read(2) and write(2).\n\n"
	    "| Stage | State | Attempts | Start | Wall | CPU | Max RSS | Read "
	    "| Written | Cache | Exit |\n"
	    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
	for (i = 0; i < r->nst; i++)
		md_stage(r, &r->st[r->order[i]], b);
}

static void
md_cache(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "\n## Cache by category\n\n");
	if (r->ncats == 0) {
		buf_adds(b, "No stage looked up the cache in this run.\n");
		return;
	}
	buf_adds(b, "| Category | Hits | Misses | Hit rate |\n"
	    "|---|---:|---:|---:|\n");
	for (i = 0; i < r->ncats; i++) {
		const struct rep_cat *C = &r->cats[i];

		buf_adds(b, "| ");
		md_text(b, C->name);
		buf_printf(b, " | %d | %d | ", C->hits, C->misses);
		md_pct(b, (double)C->hits / (C->hits + C->misses));
		buf_adds(b, " |\n");
	}
}

static void
md_alerts(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "\n## Alerts\n\n");
	if (r->nalerts == 0) {
		buf_adds(b, "No alerts.\n");
		return;
	}
	buf_adds(b, "| Level | Stage | Metric | Message |\n"
	    "|---|---|---|---|\n");
	for (i = 0; i < r->nalerts; i++) {
		const struct rep_alert *A = &r->alerts[i];

		buf_adds(b, "| **");
		md_text(b, A->level);
		buf_adds(b, "** | ");
		md_text(b, A->stage != NULL ? A->stage : "(run)");
		buf_adds(b, " | ");
		md_text(b, A->metric);
		buf_adds(b, " | ");
		md_text(b, A->message);
		buf_adds(b, " |\n");
	}
}

static void
md_trend(const struct report *r, struct buf *b)
{
	size_t	 i;
	char	 date[64];

	buf_printf(b, "\n## Trend\n\nThe last %zu run%s of this pipeline, "
	    "oldest first; this run is in bold.\n\n"
	    "| Run | Started | Outcome | Wall | CPU | Peak RSS |\n"
	    "|---|---|---|---:|---:|---:|\n", r->nruns,
	    r->nruns == 1 ? "" : "s");
	for (i = 0; i < r->nruns; i++) {
		const struct rep_run *R = &r->runs[i];
		const char *em = R->current ? "**" : "";

		if (R->run == NULL)
			continue;
		rep_date(R->start_ms, date, sizeof(date));
		buf_printf(b, "| %s", em);
		md_text(b, R->run);
		buf_printf(b, "%s | %s | ", em, date);
		md_text(b, R->status);
		buf_printf(b, " | %s", em);
		md_dur(b, R->wall_us);
		buf_printf(b, "%s | ", em);
		md_dur(b, R->cpu_us);
		buf_printf(b, " | %s", em);
		md_kb(b, R->peak_rss_kb);
		buf_printf(b, "%s |\n", em);
	}
	buf_adds(b, "\n### Regressions\n\n");
	if (r->nregs == 0) {
		buf_adds(b, r->nruns > 3 ? "No stage is more than 25% slower "
		    "or bigger than the median of its earlier runs.\n" :
		    "Too few earlier runs to compare (3 are needed).\n");
		return;
	}
	buf_adds(b, "| Stage | Measure | Median before | This run | Change "
	    "| Runs |\n|---|---|---:|---:|---:|---:|\n");
	for (i = 0; i < r->nregs; i++) {
		const struct rep_regress *G = &r->regs[i];
		int	 wall = strcmp(G->metric, "wall") == 0;

		buf_adds(b, "| ");
		md_text(b, G->stage);
		buf_adds(b, wall ? " | wall | " : " | max RSS | ");
		if (wall)
			md_dur(b, G->median);
		else
			md_kb(b, G->median);
		buf_adds(b, " | ");
		if (wall)
			md_dur(b, G->last);
		else
			md_kb(b, G->last);
		buf_adds(b, " | +");
		md_pct(b, G->change);
		buf_printf(b, " | %d |\n", G->runs);
	}
}

static void
md_notes(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "\n## Recommendations\n\n");
	if (r->nnotes == 0) {
		buf_adds(b, "None: nothing stands out in this run.\n");
		return;
	}
	for (i = 0; i < r->nnotes; i++) {
		buf_adds(b, "- ");
		md_text(b, r->notes[i].text);
		buf_adds(b, "\n");
	}
}

void
report_md(const struct report *r, struct buf *b)
{
	md_head(r, b);
	md_totals(r, b);
	md_critical(r, b);
	md_stages(r, b);
	md_cache(r, b);
	md_alerts(r, b);
	md_trend(r, b);
	md_notes(r, b);
}
