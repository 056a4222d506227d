/* Unit tests of docx_text: Word documents built in memory with libzip. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zip.h>

#include "docx.h"
#include "util.h"

/* A zip archive holding the named entries (name, content pairs, NULL
 * ended), as bytes in *out. */
static void make_zip(struct buf *out, ...)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
	assert_non_null(src);
	zip_source_keep(src);
	zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	assert_non_null(za);
	va_list ap;
	va_start(ap, out);
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (!name)
			break;
		const char *data = va_arg(ap, const char *);
		size_t n = strlen(data);
		zip_source_t *s = zip_source_buffer(za, xstrndup(data, n), n, 1);
		assert_non_null(s);
		assert_true(zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8) >= 0);
	}
	va_end(ap);
	assert_int_equal(zip_close(za), 0);
	zip_stat_t st;
	assert_int_equal(zip_source_stat(src, &st), 0);
	assert_int_equal(zip_source_open(src), 0);
	char *bytes = xmalloc(st.size);
	assert_int_equal(zip_source_read(src, bytes, st.size), (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
	zip_error_fini(&ze);
	buf_add(out, bytes, st.size);
	free(bytes);
}

#define W "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\""

static char *doc(const char *body)
{
	return xasprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document " W "><w:body>%s"
			 "<w:sectPr/></w:body></w:document>", body);
}

static void text_of(const char *body, const char *want)
{
	struct buf z = {0};
	char *xml = doc(body), *t = NULL;
	const char *why = NULL;
	make_zip(&z, "[Content_Types].xml", "<Types/>", "word/document.xml", xml, NULL);
	assert_int_equal(docx_text(z.s, z.len, &t, &why), 0);
	assert_string_equal(t, want);
	free(t);
	free(xml);
	buf_free(&z);
}

static void test_paragraphs(void **state)
{
	(void)state;
	text_of("<w:p><w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">Entity: </w:t></w:r>"
		"<w:r><w:t>DWR</w:t></w:r></w:p>"
		"<w:p><w:r><w:t>Services:</w:t></w:r></w:p>"
		"<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr>"
		"<w:r><w:t>2 x A at 1 Main St</w:t></w:r></w:p>"
		"<w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t></w:r></w:p>"
		/* tracked deletions and field codes are not text */
		"<w:p><w:del><w:r><w:delText>old</w:delText></w:r></w:del><w:ins><w:r><w:t>new</w:t>"
		"</w:r></w:ins><w:r><w:instrText>HYPERLINK x</w:instrText></w:r>"
		"<w:hyperlink><w:r><w:t>link</w:t></w:r></w:hyperlink></w:p>",
		"Entity: DWR\nServices:\n- 2 x A at 1 Main St\na\tb\nc\nnewlink\n");
}

static void test_tables(void **state)
{
	(void)state;
	text_of("<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Entity</w:t></w:r></w:p></w:tc>"
		"<w:tc><w:p><w:r><w:t>DMV</w:t></w:r></w:p></w:tc></w:tr>"
		"<w:tr><w:tc><w:p><w:r><w:t>Total</w:t></w:r></w:p><w:p><w:r><w:t>Cost:</w:t></w:r></w:p>"
		"</w:tc><w:tc><w:p><w:r><w:t>$5</w:t></w:r></w:p></w:tc></w:tr>"
		"<w:tr><w:tc><w:p><w:r><w:t>Services</w:t></w:r></w:p></w:tc><w:tc>"
		"<w:p><w:r><w:t>1 x A at 1 Main St</w:t></w:r></w:p><w:p><w:r><w:t>1 x B at 2 Main St</w:t>"
		"</w:r></w:p></w:tc></w:tr>"
		"<w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>b</w:t></w:r></w:p>"
		"</w:tc><w:tc><w:p><w:r><w:t>c</w:t></w:r></w:p></w:tc></w:tr></w:tbl>",
		"Entity: DMV\nTotal Cost: $5\nServices: 1 x A at 1 Main St\n1 x B at 2 Main St\na\tb\tc\n");
}

static void test_refused(void **state)
{
	(void)state;
	char *t = (char *)"x";
	const char *why = NULL;
	assert_int_equal(docx_text("not a zip", 9, &t, &why), -1);
	assert_null(t);
	assert_string_equal(why, "not a zip archive");

	struct buf z = {0};
	make_zip(&z, "word/other.xml", "<a/>", NULL);
	assert_int_equal(docx_text(z.s, z.len, &t, &why), -1);
	assert_string_equal(why, "no word/document.xml in the archive");
	buf_free(&z);

	/* A truncated archive. */
	make_zip(&z, "word/document.xml", "<w:document/>", NULL);
	assert_int_equal(docx_text(z.s, z.len / 2, &t, &why), -1);
	buf_free(&z);

	/* Larger than DOCX_MAX_XML once inflated: refused before it is read. */
	char *big = xmalloc(DOCX_MAX_XML + 2);
	memset(big, ' ', DOCX_MAX_XML + 1);
	big[DOCX_MAX_XML + 1] = '\0';
	make_zip(&z, "word/document.xml", big, NULL);
	free(big);
	assert_true(z.len < DOCX_MAX_XML / 100);
	assert_int_equal(docx_text(z.s, z.len, &t, &why), -1);
	assert_string_equal(why, "word/document.xml is too large");
	buf_free(&z);

	make_zip(&z, "word/document.xml", "<w:document", NULL);
	assert_int_equal(docx_text(z.s, z.len, &t, &why), -1);
	assert_string_equal(why, "word/document.xml is not XML");
	buf_free(&z);
}

/* A document with a DTD: entities are not expanded (a "billion laughs"
 * costs nothing), external ones are never fetched. Word writes no DTD: such a
 * document may as well be refused. */
static void test_entities(void **state)
{
	(void)state;
	static const char *const dtds[] = {
		"<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">",
		"<!ENTITY c SYSTEM \"file:///etc/passwd\">",
	};
	for (size_t i = 0; i < ARRAY_LEN(dtds); i++) {
		struct buf z = {0};
		char *t = NULL;
		const char *why = NULL;
		char *xml = xasprintf("<?xml version=\"1.0\"?><!DOCTYPE w:document [%s]><w:document " W
				      "><w:body><w:p><w:r><w:t>Entity: &c;DWR</w:t></w:r></w:p></w:body>"
				      "</w:document>", dtds[i]);
		make_zip(&z, "word/document.xml", xml, NULL);
		int rc = docx_text(z.s, z.len, &t, &why);
		if (rc == 0) {
			assert_null(strstr(t, "aaaaaaaaaa"));
			assert_null(strstr(t, "root:"));
			assert_non_null(strstr(t, "DWR"));
		} else {
			assert_string_equal(why, "word/document.xml is not XML");
		}
		free(t);
		free(xml);
		buf_free(&z);
	}
}

static void test_is(void **state)
{
	(void)state;
	assert_true(docx_is("Request.DOCX", NULL));
	assert_true(docx_is(NULL, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
	assert_false(docx_is("request.doc", "application/msword"));
	assert_false(docx_is(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_is),
	};
	return cmocka_run_group_tests_name("docx", tests, NULL, NULL);
}
