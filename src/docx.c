/* docx.c: see docx.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#include "docx.h"
#include "util.h"

#define MAX_NEST 64

static const char docx_type[] =
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document";

int docx_is(const char *name, const char *type)
{
	size_t n = name ? strlen(name) : 0;

	if (type != NULL && strcasecmp(type, docx_type) == 0)
		return 1;
	return n >= 5 && strcasecmp(name + n - 5, ".docx") == 0;
}

/* word/document.xml of the archive, read whole. Returns 0 or -1 with *why. */
static int read_document(const char *data, size_t n, struct buf *xml, const char **why)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_stat_t st;
	zip_file_t *zf;
	zip_int64_t idx;
	int rc = -1;

	zip_error_init(&ze);
	*why = "not a zip archive";
	src = zip_source_buffer_create(data, n, 0, &ze);
	if (src == NULL) {
		zip_error_fini(&ze);
		return -1;
	}
	za = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (za == NULL) {
		zip_source_free(src);
		zip_error_fini(&ze);
		return -1;
	}
	*why = "no word/document.xml in the archive";
	idx = zip_name_locate(za, "word/document.xml", 0);
	if (idx < 0)
		goto out;
	zip_stat_init(&st);
	*why = "word/document.xml is too large";
	if (zip_stat_index(za, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)
	    || st.size > DOCX_MAX_XML)
		goto out;
	*why = "word/document.xml cannot be read";
	zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
	if (zf == NULL)
		goto out;
	for (;;) {
		char chunk[16384];
		zip_int64_t got = zip_fread(zf, chunk, sizeof chunk);

		if (got < 0)
			break;
		if (got == 0) {
			rc = 0;
			break;
		}
		/* the stored size may lie: the limit holds for what is read */
		if (xml->len + (size_t)got > DOCX_MAX_XML) {
			*why = "word/document.xml is too large";
			break;
		}
		buf_add(xml, chunk, (size_t)got);
	}
	zip_fclose(zf);
out:
	zip_discard(za);
	zip_error_fini(&ze);
	return rc;
}

static int is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL
	       && strcmp((const char *)n->name, name) == 0;
}

/* The text of a paragraph's runs: w:t, w:tab, w:br/w:cr; deleted text
 * (w:delText) and field codes (w:instrText) are not w:t and stay out. */
static void runs(const xmlNode *n, struct buf *b, int level)
{
	for (; n != NULL && level < MAX_NEST; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "t")) {
			xmlChar *t = xmlNodeGetContent(n);

			if (t != NULL)
				buf_adds(b, (const char *)t);
			xmlFree(t);
		} else if (is(n, "tab")) {
			buf_addc(b, '\t');
		} else if (is(n, "br") || is(n, "cr")) {
			buf_addc(b, '\n');
		} else if (!is(n, "del") && !is(n, "pPr") && !is(n, "rPr")) {
			runs(n->children, b, level + 1);
		}
	}
}

/* A paragraph is a list item when its properties number it. */
static int numbered(const xmlNode *p)
{
	for (const xmlNode *c = p->children; c != NULL; c = c->next)
		if (is(c, "pPr"))
			for (const xmlNode *d = c->children; d != NULL; d = d->next)
				if (is(d, "numPr"))
					return 1;
	return 0;
}

static void body(const xmlNode *n, struct buf *out, int level);

/* The paragraphs of a cell, each on its own line (with sep between them
 * instead when sep is not NULL). */
static void cell(const xmlNode *tc, struct buf *out, const char *sep, int level)
{
	struct buf b = {0};

	body(tc->children, &b, level + 1);
	while (b.len > 0 && b.s[b.len - 1] == '\n')
		b.s[--b.len] = '\0';
	if (sep != NULL)
		for (size_t i = 0; i < b.len; i++)
			if (b.s[i] == '\n')
				b.s[i] = *sep;
	if (b.len)
		buf_add(out, b.s, b.len);
	buf_free(&b);
}

static void row(const xmlNode *tr, struct buf *out, int level)
{
	const xmlNode *cells[64];
	size_t n = 0;

	for (const xmlNode *c = tr->children; c != NULL; c = c->next)
		if (is(c, "tc") && n < 64)
			cells[n++] = c;
	if (n == 2) {
		struct buf label = {0};

		cell(cells[0], &label, " ", level);
		char *l = str_trim(xstrdup(label.s ? label.s : ""));
		buf_free(&label);
		if (*l) {
			size_t k = strlen(l);

			buf_adds(out, l);
			buf_adds(out, l[k - 1] == ':' ? " " : ": ");
		}
		free(l);
		cell(cells[1], out, NULL, level);
		buf_addc(out, '\n');
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(out, '\t');
		cell(cells[i], out, " ", level);
	}
	buf_addc(out, '\n');
}

static void body(const xmlNode *n, struct buf *out, int level)
{
	for (; n != NULL && level < MAX_NEST; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "p")) {
			if (numbered(n))
				buf_adds(out, "- ");
			runs(n->children, out, level + 1);
			buf_addc(out, '\n');
		} else if (is(n, "tbl")) {
			for (const xmlNode *r = n->children; r != NULL; r = r->next)
				if (is(r, "tr"))
					row(r, out, level + 1);
		} else if (!is(n, "sectPr")) {
			body(n->children, out, level + 1);
		}
	}
}

int docx_text(const char *data, size_t n, char **text, const char **why)
{
	struct buf xml = {0}, out = {0};
	xmlDocPtr doc;

	*text = NULL;
	if (read_document(data, n, &xml, why) != 0 || xml.len > 0x7fffffff) {
		buf_free(&xml);
		return -1;
	}
	/* No network, no entity substitution, no external DTD. */
	doc = xmlReadMemory(xml.s ? xml.s : "", (int)xml.len, "document.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	buf_free(&xml);
	if (doc == NULL) {
		*why = "word/document.xml is not XML";
		return -1;
	}
	body(xmlDocGetRootElement(doc), &out, 0);
	xmlFreeDoc(doc);
	*text = buf_steal(&out);
	return 0;
}
