/*
 * report_html.c: the report as one self-contained HTML page: inline CSS
 * and SVG, no script, no font, no external reference, so it works
 * offline and mailed.  Light and dark colours follow
 * prefers-color-scheme; print shows every row.  Sections: summary cards,
 * a Gantt timeline of every process (one row per stage, the critical
 * path banded, earlier attempts and cache hits marked, a <title> on
 * each bar), per-stage bars for wall, CPU and RSS, cache hit rates by
 * category, alerts, trend sparklines and regressions, recommendations.
 * Long pipelines scroll inside their boxes; a row costs about 0.7 KB.
 * No I/O.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "banned.h"

#define TL_W		1136	/* timeline width, px */
#define TL_LABEL	200	/* stage name column */
#define TL_RIGHT	64	/* room for the last bar's label */
#define TL_ROW		20
#define TL_BAR		12
#define TL_NAME		28	/* characters of a name shown in a row */
#define TL_TALL		28	/* more rows scroll, with an overview */
#define OV_H		160	/* overview height, px */
#define CRIT_SHOWN	12	/* critical path stages named in the text */
#define BAR_W		72	/* the longest per-stage bar */
#define SPARK_W		280
#define SPARK_H		56

static const char css[] =
":root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--mut:#59636e;"
"--line:#d1d9e0;--card:#f6f8fa;--run:#2f6fce;--crit:#c2410c;"
"--band:#fff1e6;--fail:#cf222e;--hit:#1a7f37;--old:#8c959f;"
"--cpu:#7c3aed;--rss:#0e7490;--warn:#9a6700;--info:#0969da}\n"
"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;"
"--mut:#9198a1;--line:#3d444d;--card:#151b23;--run:#4d8fe6;"
"--crit:#f0883e;--band:#2b1d12;--fail:#ff6a69;--hit:#3fb950;"
"--old:#6e7681;--cpu:#a78bfa;--rss:#22b8cf;--warn:#d29922;"
"--info:#58a6ff}}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 "
"system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif}\n"
"main{max-width:1200px;margin:0 auto;padding:12px 24px 32px}\n"
"h1{font-size:22px;margin:8px 0 2px}\n"
"h2{font-size:17px;margin:26px 0 8px;padding-bottom:3px;"
"border-bottom:1px solid var(--line)}\n"
"h3{font-size:14px;margin:14px 0 6px}\n"
"p{margin:6px 0}.mut{color:var(--mut)}code{font-size:13px}\n"
".st{display:inline-block;padding:1px 9px;border-radius:10px;"
"font-size:13px;font-weight:600;color:var(--bg);background:var(--hit);"
"vertical-align:3px}\n"
".st.failed,.st.interrupted{background:var(--fail)}\n"
".cards{display:grid;grid-template-columns:repeat(auto-fill,"
"minmax(118px,1fr));gap:8px;margin:12px 0}\n"
".card{background:var(--card);border:1px solid var(--line);"
"border-radius:6px;padding:6px 10px}\n"
".card b{display:block;font-size:19px}.card span{color:var(--mut);"
"font-size:12px}\n"
".box{border:1px solid var(--line);border-radius:6px;overflow:auto}\n"
".tall{max-height:620px}\n"
".axis{position:sticky;top:0;background:var(--bg);z-index:1;"
"display:block}\n"
"svg{display:block}svg text{fill:var(--fg);font-size:11px}\n"
"svg .m{fill:var(--mut)}svg .b{font-weight:700}\n"
"svg .g{stroke:var(--line);stroke-width:1}\n"
"svg .band{fill:var(--band)}\n"
"svg .run{fill:var(--run)}svg .crit{fill:var(--crit)}"
"svg .fail{fill:var(--fail)}svg .hit{fill:var(--hit)}"
"svg .old{fill:var(--old)}\n"
"svg .ln{fill:none;stroke-width:2}svg .lw{stroke:var(--run)}"
"svg .lr{stroke:var(--rss)}\n"
".legend{display:flex;flex-wrap:wrap;gap:14px;margin:6px 0;"
"font-size:12px;color:var(--mut)}\n"
".legend i{display:inline-block;width:14px;height:10px;border-radius:2px;"
"margin-right:5px;vertical-align:-1px}\n"
".k-run{background:var(--run)}.k-crit{background:var(--crit)}"
".k-fail{background:var(--fail)}.k-hit{background:var(--hit)}"
".k-old{background:var(--old)}.k-band{background:var(--band);"
"border:1px solid var(--line)}\n"
"table{border-collapse:collapse;width:100%;"
"font-variant-numeric:tabular-nums}\n"
"th,td{padding:3px 7px;border-bottom:1px solid var(--line);"
"text-align:left;white-space:nowrap}\n"
"th{position:sticky;top:0;background:var(--card);font-weight:600;"
"font-size:13px}\n"
"td.n,th.n{text-align:right}tr.c td:first-child{font-weight:700;"
"color:var(--crit)}\n"
".bar{display:inline-block;height:10px;border-radius:2px;"
"vertical-align:-1px;margin-right:6px}\n"
".bw{background:var(--run)}.bc{background:var(--cpu)}"
".br{background:var(--rss)}.bh{background:var(--hit)}"
".bm{background:var(--old)}\n"
"td.v{min-width:128px}.up{color:var(--fail);font-size:12px;"
"font-weight:600}\n"
"ul.al{list-style:none;padding:0;margin:0}\n"
"ul.al li{padding:4px 8px;border-left:4px solid var(--info);"
"margin:4px 0;background:var(--card)}\n"
"ul.al li.warn{border-color:var(--warn)}"
"ul.al li.crit{border-color:var(--fail)}\n"
".sparks{display:flex;flex-wrap:wrap;gap:24px}\n"
"footer{margin-top:28px;font-size:12px;color:var(--mut)}\n"
"@media print{.tall{max-height:none;overflow:visible}"
".axis,th{position:static}body{font-size:11px}}\n";

static void
h_esc(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_adds(b, "-");
		return;
	}
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			buf_adds(b, "&amp;");
			break;
		case '<':
			buf_adds(b, "&lt;");
			break;
		case '>':
			buf_adds(b, "&gt;");
			break;
		case '"':
			buf_adds(b, "&quot;");
			break;
		case '\'':
			buf_adds(b, "&#39;");
			break;
		default:
			buf_addc(b, *s);
		}
}

/* a name cut to n characters (UTF-8 aware) with an ellipsis */
static void
h_cut(struct buf *b, const char *s, size_t n)
{
	struct buf t = { 0 };
	size_t	 chars = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == n - 1 &&
		    strlen(s + i) > 1) {
			buf_adds(&t, "…");
			break;
		}
		buf_addc(&t, s[i]);
	}
	h_esc(b, buf_cstr(&t));
	buf_free(&t);
}

static void
h_dur(struct buf *b, int64_t us)
{
	char	 t[32];

	rep_dur(us, t, sizeof(t));
	buf_adds(b, t);
}

static void
h_kb(struct buf *b, int64_t kb)
{
	char	 t[32];

	rep_size_kb(kb, t, sizeof(t));
	buf_adds(b, t);
}

static void
h_bytes(struct buf *b, int64_t n)
{
	char	 t[32];

	rep_bytes(n, t, sizeof(t));
	buf_adds(b, t);
}

static void
h_pct(struct buf *b, double x)
{
	char	 t[32];

	rep_pct(x, t, sizeof(t));
	buf_adds(b, t);
}

static void
card(struct buf *b, const char *label, const char *value)
{
	buf_printf(b, "<div class=\"card\"><b>%s</b><span>%s</span></div>\n",
	    value, label);
}

static void
head(const struct report *r, struct buf *b)
{
	char	 date[64], v[64], w[64];
	size_t	 ok = 0, i;

	rep_date(r->start_ms, date, sizeof(date));
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"/>\n"
	    "<meta name=\"generator\" content=\"sluice " VERSION "\"/>\n"
	    "<title>sluice report: ");
	h_esc(b, r->pipeline != NULL ? r->pipeline : "unnamed");
	buf_adds(b, " (");
	h_esc(b, r->status);
	buf_printf(b, ")</title>\n<style>\n%s</style>\n</head>\n<body>\n"
	    "<main>\n<header>\n<h1>", css);
	h_esc(b, r->pipeline != NULL ? r->pipeline : "unnamed");
	buf_adds(b, " <span class=\"st ");
	h_esc(b, r->status);
	buf_adds(b, "\">");
	h_esc(b, r->status);
	if (r->signal > 0)
		buf_printf(b, " (signal %d)", r->signal);
	buf_adds(b, "</span></h1>\n<p class=\"mut\">Run <code>");
	h_esc(b, r->run);
	buf_adds(b, "</code> of <code>");
	h_esc(b, r->file);
	buf_adds(b, "</code> on ");
	h_esc(b, r->host);
	buf_printf(b, ", started %s; jobs %d%s", date, r->jobs,
	    r->keep_going ? ", keep going" : "");
	if (r->profile != NULL) {
		buf_adds(b, ", profile ");
		h_esc(b, r->profile);
	}
	buf_adds(b, ".</p>\n</header>\n<section class=\"cards\" "
	    "aria-label=\"Totals\">\n");
	for (i = 0; i < r->nst; i++)
		ok += strcmp(r->st[i].state, "done") == 0 ||
		    strcmp(r->st[i].state, "cached") == 0;
	rep_dur(r->wall_us, v, sizeof(v));
	card(b, "wall time", v);
	rep_dur(r->cpu_us, v, sizeof(v));
	card(b, "CPU time", v);
	snprintf(v, sizeof(v), "%.2f", r->utilisation);
	card(b, "CPUs busy, on average", v);
	rep_pct(r->efficiency, v, sizeof(v));
	snprintf(w, sizeof(w), "parallel efficiency (%d slots)",
	    r->jobs > 0 ? r->jobs : r->max_conc);
	card(b, w, v);
	rep_size_kb(r->peak_rss_kb, v, sizeof(v));
	card(b, "peak RSS of one process", v);
	if (r->peak_sum_rss_kb >= 0) {
		rep_size_kb(r->peak_sum_rss_kb, v, sizeof(v));
		card(b, "peak RSS, all at once", v);
	}
	if (r->lookups > 0) {
		rep_pct((double)r->hits / r->lookups, v, sizeof(v));
		snprintf(w, sizeof(w), "cache hit rate (%d of %d)", r->hits,
		    r->lookups);
		card(b, w, v);
	} else
		card(b, "cache hit rate (no lookups)", "-");
	snprintf(v, sizeof(v), "%zu/%zu", ok, r->nst);
	snprintf(w, sizeof(w), "stages ok, %d failed", r->failed);
	card(b, w, v);
	snprintf(v, sizeof(v), "%d", r->max_conc);
	card(b, "processes at once, at most", v);
	buf_adds(b, "</section>\n");
}

/* a round step for about n ticks over span: 1, 2 or 5 times 10^k */
static int64_t
tick_step(int64_t span, int n)
{
	double	 raw = (double)span / n, p;

	if (raw < 1)
		return 1;
	p = pow(10, floor(log10(raw)));
	if (raw / p < 1.5)
		return (int64_t)p;
	if (raw / p < 3.5)
		return (int64_t)(2 * p);
	if (raw / p < 7.5)
		return (int64_t)(5 * p);
	return (int64_t)(10 * p);
}

struct scale {
	int64_t		 span;		/* us shown */
	double		 px;		/* px per us */
	int64_t		 step;
};

static double
sx(const struct scale *s, int64_t us)
{
	return TL_LABEL + 8 + (double)us * s->px;
}

/* a tick on a 1-2-5 grid: "0", "250us", "50ms", "1.5s" */
static void
tick_label(struct buf *b, int64_t t)
{
	if (t == 0)
		buf_adds(b, "0");
	else if (t < 1000)
		buf_printf(b, "%lldus", (long long)t);
	else if (t < 1000000)
		buf_printf(b, "%gms", (double)t / 1e3);
	else if (t < 600000000)
		buf_printf(b, "%gs", (double)t / 1e6);
	else
		buf_printf(b, "%gmin", (double)t / 6e7);
}

static void
axis(const struct report *r, const struct scale *s, struct buf *b)
{
	int64_t	 t;

	buf_printf(b, "<svg class=\"axis\" width=\"%d\" height=\"22\" "
	    "viewBox=\"0 0 %d 22\" aria-hidden=\"true\">\n", TL_W, TL_W);
	buf_printf(b, "<text x=\"%d\" y=\"15\" text-anchor=\"end\" "
	    "class=\"m\">stage \\ time</text>\n", TL_LABEL - 6);
	for (t = 0; t <= s->span; t += s->step) {
		buf_printf(b, "<line class=\"g\" x1=\"%.1f\" x2=\"%.1f\" "
		    "y1=\"17\" y2=\"22\"/><text x=\"%.1f\" y=\"13\" "
		    "text-anchor=\"middle\" class=\"m\">", sx(s, t), sx(s, t),
		    sx(s, t));
		tick_label(b, t);
		buf_adds(b, "</text>\n");
	}
	(void)r;
	buf_adds(b, "</svg>\n");
}

static const char *
bar_class(const struct rep_stage *S, size_t k)
{
	const struct rep_proc *P = &S->procs[k];

	if (k + 1 < S->nprocs)
		return "old";
	if (P->cache != NULL && strcmp(P->cache, "hit") == 0)
		return "hit";
	if (strcmp(S->state, "failed") == 0 || P->signal > 0 ||
	    P->timed_out || (P->exit > 0))
		return "fail";
	if (strcmp(S->state, "cached") == 0)
		return "hit";
	return S->critical ? "crit" : "run";
}

static void
proc_title(const struct rep_stage *S, const struct rep_proc *P,
    struct buf *b)
{
	h_esc(b, S->name);
	buf_printf(b, ", attempt %d (pid %lld): start ", P->attempt, P->pid);
	h_dur(b, P->start_us);
	buf_adds(b, ", wall ");
	h_dur(b, P->wall_us);
	buf_adds(b, ", CPU ");
	h_dur(b, P->user_us + P->sys_us);
	buf_adds(b, " (user ");
	h_dur(b, P->user_us);
	buf_adds(b, ", sys ");
	h_dur(b, P->sys_us);
	buf_adds(b, "), max RSS ");
	h_kb(b, P->max_rss_kb);
	buf_adds(b, ", read ");
	h_bytes(b, P->rchar);
	buf_adds(b, ", written ");
	h_bytes(b, P->wchar);
	if (P->signal > 0)
		buf_printf(b, ", killed by signal %d", P->signal);
	else if (P->exit >= 0)
		buf_printf(b, ", exit %d", P->exit);
	if (P->timed_out)
		buf_adds(b, ", timed out");
	if (P->cache != NULL) {
		buf_adds(b, ", cache ");
		h_esc(b, P->cache);
	}
	if (S->critical)
		buf_adds(b, "; on the critical path");
}

static void
tl_row(const struct rep_stage *S, const struct scale *s, int y,
    struct buf *b)
{
	size_t	 k;
	double	 x = 0, w;

	buf_adds(b, "<g>");
	if (S->critical)
		buf_printf(b, "<rect class=\"band\" x=\"0\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\"/>", y, TL_W, TL_ROW);
	buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>",
	    TL_LABEL - 6, y + 14, S->critical ? " class=\"b\"" : "");
	h_cut(b, S->name, TL_NAME);
	buf_adds(b, "</text>");
	for (k = 0; k < S->nprocs; k++) {
		const struct rep_proc *P = &S->procs[k];

		x = sx(s, P->start_us);
		w = (double)P->wall_us * s->px;
		if (w < 2)
			w = 2;
		buf_printf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" "
		    "width=\"%.1f\" height=\"%d\" rx=\"2\"><title>",
		    bar_class(S, k), x, y + (TL_ROW - TL_BAR) / 2, w, TL_BAR);
		proc_title(S, P, b);
		buf_adds(b, "</title></rect>");
		x += w;
	}
	if (S->nprocs == 0) {
		buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"m\">",
		    TL_LABEL + 8, y + 14);
		h_esc(b, S->state);
		if (S->reason != NULL) {
			buf_adds(b, ": ");
			h_esc(b, S->reason);
		}
		buf_adds(b, "</text>");
	} else {
		buf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"m\">", x + 4,
		    y + 14);
		h_dur(b, S->wall_us);
		if (S->nprocs > 1)
			buf_printf(b, " (attempt %d)", S->procs[S->nprocs -
			    1].attempt);
		buf_adds(b, "</text>");
	}
	buf_adds(b, "</g>\n");
}

/* every process of a long pipeline in one small picture */
static void
overview(const struct report *r, const struct scale *s, struct buf *b)
{
	double	 rh = (double)OV_H / (double)r->nst, w;
	size_t	 i, k;

	buf_printf(b, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-label=\"Overview: all %zu stages, one thin "
	    "row each\">\n<text x=\"%d\" y=\"14\" text-anchor=\"end\" "
	    "class=\"m\">overview,</text><text x=\"%d\" y=\"28\" "
	    "text-anchor=\"end\" class=\"m\">%zu rows</text>\n", TL_W,
	    OV_H + 8, TL_W, OV_H + 8, r->nst, TL_LABEL - 6, TL_LABEL - 6,
	    r->nst);
	for (i = 0; i < r->nst; i++) {
		const struct rep_stage *S = &r->st[r->order[i]];

		for (k = 0; k < S->nprocs; k++) {
			w = (double)S->procs[k].wall_us * s->px;
			buf_printf(b, "<rect class=\"%s\" x=\"%.1f\" "
			    "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
			    bar_class(S, k), sx(s, S->procs[k].start_us),
			    4 + rh * (double)i, w < 1.5 ? 1.5 : w,
			    rh < 1 ? 1 : rh * 0.8);
		}
	}
	buf_adds(b, "</svg>\n");
}

static void
timeline(const struct report *r, struct buf *b)
{
	struct scale s;
	int64_t	 end = r->wall_us, t;
	int	 h = (int)r->nst * TL_ROW + 4, y = 2;
	size_t	 i;

	for (i = 0; i < r->nst; i++)
		if (r->st[i].end_us > end)
			end = r->st[i].end_us;
	s.step = tick_step(end > 0 ? end : 1, 8);
	s.span = ((end + s.step - 1) / s.step) * s.step;
	if (s.span <= 0)
		s.span = s.step;
	s.px = (double)(TL_W - TL_LABEL - 8 - TL_RIGHT) / (double)s.span;
	buf_printf(b, "<section>\n<h2 id=\"timeline\">Timeline</h2>\n"
	    "<p class=\"mut\">One row per stage, in order of start; each bar "
	    "is a process from start to exit.  Hover over a bar for its "
	    "figures; the Stages table below has them all.</p>\n"
	    "<div class=\"legend\"><span><i class=\"k-run\"></i>process</span>"
	    "<span><i class=\"k-crit\"></i>on the critical path "
	    "(row shaded)</span><span><i class=\"k-old\"></i>earlier attempt"
	    "</span><span><i class=\"k-fail\"></i>failed</span>"
	    "<span><i class=\"k-hit\"></i>cache hit</span></div>\n");
	if (r->nst > TL_TALL)
		overview(r, &s, b);
	buf_printf(b, "<div class=\"box%s\">\n", r->nst > TL_TALL ?
	    " tall" : "");
	axis(r, &s, b);
	buf_printf(b, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-labelledby=\"tl-t\">\n<title id=\"tl-t\">"
	    "Timeline of %zu stages over ", TL_W, h, TL_W, h, r->nst);
	h_dur(b, r->wall_us);
	buf_adds(b, "</title>\n");
	for (t = 0; t <= s.span; t += s.step)
		buf_printf(b, "<line class=\"g\" x1=\"%.1f\" x2=\"%.1f\" "
		    "y1=\"0\" y2=\"%d\"/>\n", sx(&s, t), sx(&s, t), h);
	for (i = 0; i < r->nst; i++, y += TL_ROW)
		tl_row(&r->st[r->order[i]], &s, y, b);
	buf_adds(b, "</svg>\n</div>\n");
	if (r->ncrit > 0) {
		buf_printf(b, "<p>Critical path (%zu stage%s, ", r->ncrit,
		    r->ncrit == 1 ? "" : "s");
		h_dur(b, r->crit_us);
		buf_adds(b, r->crit_given ? ", from the run record): " : "): ");
		for (i = 0; i < r->ncrit; i++) {
			const struct rep_stage *S = &r->st[r->crit[i]];

			if (r->ncrit > CRIT_SHOWN && i == CRIT_SHOWN / 2) {
				buf_printf(b, " → <span class=\"mut\">%zu more"
				    "</span>", r->ncrit - CRIT_SHOWN);
				i = r->ncrit - CRIT_SHOWN / 2 - 1;
				continue;
			}
			if (i > 0)
				buf_adds(b, " → ");
			buf_adds(b, "<b>");
			h_esc(b, S->name);
			buf_adds(b, "</b> <span class=\"mut\">");
			h_dur(b, S->crit_us);
			buf_adds(b, "</span>");
		}
		buf_adds(b, "</p>\n");
	}
	buf_adds(b, "</section>\n");
}

static void
bar_cell(struct buf *b, const char *cls, int64_t v, int64_t max)
{
	int	 w = max > 0 ? (int)llround((double)v * BAR_W / max) : 0;

	buf_adds(b, "<td class=\"v\">");
	if (w > 0)
		buf_printf(b, "<span class=\"bar %s\" style=\"width:%dpx\">"
		    "</span>", cls, w);
}

/* "▲ 122%" after a figure that regressed, its median in the title */
static void
reg_mark(const struct report *r, const char *stage, const char *metric,
    struct buf *b)
{
	char	 med[32];
	size_t	 i;

	for (i = 0; i < r->nregs; i++) {
		const struct rep_regress *G = &r->regs[i];

		if (strcmp(G->stage, stage) != 0 ||
		    strcmp(G->metric, metric) != 0)
			continue;
		if (strcmp(metric, "wall") == 0)
			rep_dur(G->median, med, sizeof(med));
		else
			rep_size_kb(G->median, med, sizeof(med));
		buf_printf(b, " <span class=\"up\" title=\"median %s over %d "
		    "earlier runs\">▲ ", med, G->runs);
		h_pct(b, G->change);
		buf_adds(b, "</span>");
	}
}

static void
stages(const struct report *r, struct buf *b)
{
	int64_t	 mw = 0, mc = 0, mr = 0;
	size_t	 i;

	for (i = 0; i < r->nst; i++) {
		if (r->st[i].wall_us > mw)
			mw = r->st[i].wall_us;
		if (r->st[i].cpu_us > mc)
			mc = r->st[i].cpu_us;
		if (r->st[i].max_rss_kb > mr)
			mr = r->st[i].max_rss_kb;
	}
	if (mc < mw)
		mc = mw;		/* wall and CPU on one scale */
	else
		mw = mc;
	buf_printf(b, "<section>\n<h2 id=\"stages\">Stages</h2>\n"
	    "<p class=\"mut\">Wall and CPU bars share one scale, RSS bars "
	    "their own; ▲ marks a regression against earlier runs.  Read and "
	    "written count the bytes passed to read(2) and write(2); names on "
	    "the critical path are coloured.</p>\n"
	    "<div class=\"box%s\">\n<table>\n<thead><tr><th>Stage</th>"
	    "<th>State</th><th class=\"n\">Attempts</th><th>Wall</th>"
	    "<th>CPU</th><th>Max RSS</th><th class=\"n\">Read</th>"
	    "<th class=\"n\">Written</th><th>Cache</th><th>Exit</th></tr>"
	    "</thead>\n<tbody>\n", r->nst > TL_TALL ? " tall" : "");
	for (i = 0; i < r->nst; i++) {
		const struct rep_stage *S = &r->st[r->order[i]];

		buf_printf(b, "<tr%s><td>", S->critical ? " class=\"c\"" : "");
		h_esc(b, S->name);
		buf_adds(b, "</td><td>");
		h_esc(b, S->state);
		if (S->reason != NULL) {
			buf_adds(b, ": ");
			h_esc(b, S->reason);
		}
		buf_printf(b, "</td><td class=\"n\">%d</td>", S->attempts);
		if (S->nprocs == 0)
			buf_adds(b, "<td>-</td><td>-</td><td>-</td><td class=\"n\">"
			    "-</td><td class=\"n\">-</td>");
		else {
			bar_cell(b, "bw", S->wall_us, mw);
			h_dur(b, S->wall_us);
			reg_mark(r, S->name, "wall", b);
			buf_adds(b, "</td>");
			bar_cell(b, "bc", S->cpu_us, mc);
			h_dur(b, S->cpu_us);
			buf_adds(b, "</td>");
			bar_cell(b, "br", S->max_rss_kb, mr);
			h_kb(b, S->max_rss_kb);
			reg_mark(r, S->name, "max_rss", b);
			buf_adds(b, "</td><td class=\"n\">");
			h_bytes(b, S->rchar);
			buf_adds(b, "</td><td class=\"n\">");
			h_bytes(b, S->wchar);
			buf_adds(b, "</td>");
		}
		buf_adds(b, "<td>");
		h_esc(b, S->cache);
		if (S->category != NULL) {
			buf_adds(b, " (");
			h_esc(b, S->category);
			buf_adds(b, ")");
		}
		buf_adds(b, "</td><td>");
		rep_exit(S, b);
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</tbody>\n</table>\n</div>\n</section>\n");
}

static void
cache(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "<section>\n<h2 id=\"cache\">Cache by category</h2>\n");
	if (r->ncats == 0) {
		buf_adds(b, "<p>No stage looked up the cache in this run.</p>\n"
		    "</section>\n");
		return;
	}
	buf_adds(b, "<table>\n<thead><tr><th>Category</th><th>Hit rate</th>"
	    "<th class=\"n\">Hits</th><th class=\"n\">Misses</th></tr>"
	    "</thead>\n<tbody>\n");
	for (i = 0; i < r->ncats; i++) {
		const struct rep_cat *C = &r->cats[i];
		int	 n = C->hits + C->misses;
		int	 w = (int)llround(2.0 * BAR_W * C->hits / n);

		buf_adds(b, "<tr><td>");
		h_esc(b, C->name);
		buf_adds(b, "</td><td class=\"v\">");
		if (w > 0)
			buf_printf(b, "<span class=\"bar bh\" style=\"width:"
			    "%dpx;margin:0\"></span>", w);
		if (w < 2 * BAR_W)
			buf_printf(b, "<span class=\"bar bm\" style=\"width:"
			    "%dpx\"></span>", 2 * BAR_W - w);
		h_pct(b, (double)C->hits / n);
		buf_printf(b, "</td><td class=\"n\">%d</td><td class=\"n\">%d"
		    "</td></tr>\n", C->hits, C->misses);
	}
	buf_adds(b, "</tbody>\n</table>\n</section>\n");
}

static void
alerts(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "<section>\n<h2 id=\"alerts\">Alerts</h2>\n");
	if (r->nalerts == 0) {
		buf_adds(b, "<p>No alerts.</p>\n</section>\n");
		return;
	}
	buf_adds(b, "<ul class=\"al\">\n");
	for (i = 0; i < r->nalerts; i++) {
		const struct rep_alert *A = &r->alerts[i];

		buf_adds(b, "<li class=\"");
		h_esc(b, A->level);
		buf_adds(b, "\"><b>");
		h_esc(b, A->level);
		buf_adds(b, "</b> ");
		if (A->stage != NULL) {
			buf_adds(b, "stage <code>");
			h_esc(b, A->stage);
			buf_adds(b, "</code>: ");
		}
		h_esc(b, A->message);
		buf_adds(b, "</li>\n");
	}
	buf_adds(b, "</ul>\n</section>\n");
}

/* one sparkline of a measure over the trend's runs */
static void
spark(const struct report *r, struct buf *b, const char *title, int rss)
{
	int64_t	 lo = INT64_MAX, hi = 0, v;
	size_t	 i, n = 0;
	double	 x = 0, y = 0;
	char	 a[32], c[32], d[32];

	for (i = 0; i < r->nruns; i++) {
		v = rss ? r->runs[i].peak_rss_kb : r->runs[i].wall_us;
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
		n++;
	}
	if (n == 0)
		return;
	if (rss) {
		rep_size_kb(r->runs[r->nruns - 1].peak_rss_kb, a, sizeof(a));
		rep_size_kb(lo, c, sizeof(c));
		rep_size_kb(hi, d, sizeof(d));
	} else {
		rep_dur(r->runs[r->nruns - 1].wall_us, a, sizeof(a));
		rep_dur(lo, c, sizeof(c));
		rep_dur(hi, d, sizeof(d));
	}
	buf_printf(b, "<figure style=\"margin:0\">\n<svg width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
	    "aria-label=\"%s over %zu runs: this run %s, lowest %s, highest "
	    "%s\">\n<line class=\"g\" x1=\"0\" x2=\"%d\" y1=\"%d\" "
	    "y2=\"%d\"/>\n<polyline class=\"ln %s\" points=\"", SPARK_W,
	    SPARK_H, SPARK_W, SPARK_H, title, n, a, c, d, SPARK_W,
	    SPARK_H - 4, SPARK_H - 4, rss ? "lr" : "lw");
	for (i = 0; i < r->nruns; i++) {
		v = rss ? r->runs[i].peak_rss_kb : r->runs[i].wall_us;
		x = n > 1 ? 6 + (double)i * (SPARK_W - 12) / (double)(n - 1) :
		    SPARK_W / 2.0;
		y = hi > lo ? 6 + (double)(hi - v) * (SPARK_H - 14) /
		    (double)(hi - lo) : SPARK_H / 2.0;
		buf_printf(b, "%s%.1f,%.1f", i > 0 ? " " : "", x, y);
	}
	buf_adds(b, "\"/>\n");
	buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" class=\"crit\">"
	    "<title>this run: %s</title></circle>\n</svg>\n"
	    "<figcaption><b>%s</b>: %s this run; %s to %s over %zu run%s"
	    "</figcaption>\n</figure>\n", x, y, a, title, a, c, d, n,
	    n == 1 ? "" : "s");
}

static void
trend(const struct report *r, struct buf *b)
{
	size_t	 i;
	char	 date[64];

	buf_printf(b, "<section>\n<h2 id=\"trend\">Trend</h2>\n<p class=\"mut\">"
	    "The last %zu run%s of this pipeline from history, oldest first; "
	    "the dot is this run.</p>\n<div class=\"sparks\">\n", r->nruns,
	    r->nruns == 1 ? "" : "s");
	spark(r, b, "Wall time", 0);
	spark(r, b, "Peak RSS", 1);
	buf_adds(b, "</div>\n<h3>Regressions</h3>\n");
	if (r->nregs == 0)
		buf_adds(b, r->nruns > 3 ? "<p>No stage is more than 25% slower "
		    "or bigger than the median of its earlier runs.</p>\n" :
		    "<p>Too few earlier runs to compare (3 are needed).</p>\n");
	else {
		buf_adds(b, "<table>\n<thead><tr><th>Stage</th><th>Measure</th>"
		    "<th class=\"n\">Median before</th><th class=\"n\">This run"
		    "</th><th class=\"n\">Change</th><th class=\"n\">Runs</th>"
		    "</tr></thead>\n<tbody>\n");
		for (i = 0; i < r->nregs; i++) {
			const struct rep_regress *G = &r->regs[i];
			int	 wall = strcmp(G->metric, "wall") == 0;

			buf_adds(b, "<tr><td>");
			h_esc(b, G->stage);
			buf_printf(b, "</td><td>%s</td><td class=\"n\">",
			    wall ? "wall" : "max RSS");
			if (wall)
				h_dur(b, G->median);
			else
				h_kb(b, G->median);
			buf_adds(b, "</td><td class=\"n\">");
			if (wall)
				h_dur(b, G->last);
			else
				h_kb(b, G->last);
			buf_adds(b, "</td><td class=\"n\">+");
			h_pct(b, G->change);
			buf_printf(b, "</td><td class=\"n\">%d</td></tr>\n",
			    G->runs);
		}
		buf_adds(b, "</tbody>\n</table>\n");
	}
	buf_adds(b, "<h3>Runs</h3>\n<table>\n<thead><tr><th>Run</th>"
	    "<th>Started</th><th>Outcome</th><th class=\"n\">Wall</th>"
	    "<th class=\"n\">CPU</th><th class=\"n\">Peak RSS</th></tr>"
	    "</thead>\n<tbody>\n");
	for (i = 0; i < r->nruns; i++) {
		const struct rep_run *R = &r->runs[i];

		if (R->run == NULL)
			continue;
		rep_date(R->start_ms, date, sizeof(date));
		buf_printf(b, "<tr%s><td>", R->current ? " class=\"c\"" : "");
		h_esc(b, R->run);
		buf_printf(b, "</td><td>%s</td><td>", date);
		h_esc(b, R->status);
		buf_adds(b, "</td><td class=\"n\">");
		h_dur(b, R->wall_us);
		buf_adds(b, "</td><td class=\"n\">");
		h_dur(b, R->cpu_us);
		buf_adds(b, "</td><td class=\"n\">");
		h_kb(b, R->peak_rss_kb);
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</tbody>\n</table>\n</section>\n");
}

static void
notes(const struct report *r, struct buf *b)
{
	size_t	 i;

	buf_adds(b, "<section>\n<h2 id=\"recommendations\">Recommendations"
	    "</h2>\n");
	if (r->nnotes == 0) {
		buf_adds(b, "<p>None: nothing stands out in this run.</p>\n"
		    "</section>\n");
		return;
	}
	buf_adds(b, "<ul>\n");
	for (i = 0; i < r->nnotes; i++) {
		buf_adds(b, "<li>");
		h_esc(b, r->notes[i].text);
		buf_adds(b, "</li>\n");
	}
	buf_adds(b, "</ul>\n</section>\n");
}

void
report_html(const struct report *r, struct buf *b)
{
	head(r, b);
	timeline(r, b);
	stages(r, b);
	cache(r, b);
	alerts(r, b);
	trend(r, b);
	notes(r, b);
	buf_adds(b, "<footer>Made by sluice " VERSION "; sluice-report(5) "
	    "describes the figures.</footer>\n</main>\n</body>\n</html>\n");
}
