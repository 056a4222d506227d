/* css.h: what a reader of an HTML mail cannot see (libxml2 nodes; no I/O).
 *
 * Text that a mail client does not draw, or draws so that nobody can read it,
 * is not part of what the sender wrote for a reader: a command hidden there
 * must never count. This module reads as much CSS as that takes:
 *  - elements not rendered at all: the hidden attribute, display:none,
 *    opacity 0, mso-hide:all (Outlook), a zero height or width with
 *    overflow:hidden (the "preheader" trick);
 *  - text drawn invisibly: font-size 0 (or below 2px/2pt, 0.2em, 20%; the
 *    font shorthand too), visibility:hidden or collapse, color:transparent,
 *    and a text colour that barely differs from the background (contrast
 *    ratio below 1.25; white text on the white page by default), from the
 *    color, text, bgcolor and background attributes and styles.
 * Styles come from each element's style attribute and from the simple rules
 * (tag, .class, #id, tag.class, tag#id; comma lists) of the document's
 * <style> elements, in document order, inline last; rules inside an @-block
 * (@media ...) and any other selector are ignored. At most CSS_MAX_RULES
 * rules and the first 64 KB of each <style> element are read, so the cost
 * stays linear in the document. */
#ifndef CGEN_CSS_H
#define CGEN_CSS_H

#include <libxml/tree.h>

#define CSS_MAX_RULES 256

struct css_sheet;

/* The simple rules of every <style> element under root (root may be NULL).
 * Returns NULL when there are none; free with css_sheet_free (NULL is fine). */
struct css_sheet *css_sheet_read(xmlNode *root);
void css_sheet_free(struct css_sheet *s);

/* The inherited drawing state of text. */
struct css_ink {
	int tiny;          /* font size too small to read */
	int unseen;        /* visibility: hidden / collapse */
	int clear;         /* color: transparent */
	unsigned fg, bg;   /* 0xRRGGBB */
	int bg_known;      /* 0 under a background image */
};

/* The state at the top of a document: black text on white. */
void css_ink_init(struct css_ink *k);

/* Applies element n's presentational attributes, the sheet's matching rules
 * (s may be NULL) and its style attribute to *k, the state inherited from
 * its parent. Returns 1 when n and everything inside it is not rendered (k
 * is then undefined; the caller restores its copy). */
int css_apply(const struct css_sheet *s, xmlNode *n, struct css_ink *k);

/* 1 when text drawn in state k can be read. */
int css_ink_visible(const struct css_ink *k);

#endif
