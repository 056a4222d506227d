/* docx.h: the text of a Word document (.docx), for a request form sent as an
 * attachment. No I/O: reads bytes in memory (libzip for the archive, libxml2
 * for word/document.xml; no network, no external entities).
 *
 * The text is one line per paragraph (tabs and line breaks kept), a list
 * paragraph starts with "- ", a table row of two cells reads as
 * "Label: value" (the label cell's paragraphs on one line; the value cell's
 * paragraphs on lines of their own), other rows as cells joined by tabs.
 * Deleted text (tracked changes) and field codes are left out. */
#ifndef CGEN_DOCX_H
#define CGEN_DOCX_H

#include <stddef.h>

/* Largest word/document.xml read, uncompressed (bytes). */
#define DOCX_MAX_XML (8u << 20)

/* Sets *text (allocated UTF-8, LF line ends) and returns 0; or returns -1
 * with *why (static text) when data is not a readable .docx: not a zip, no
 * word/document.xml, that part larger than DOCX_MAX_XML, not XML. */
int docx_text(const char *data, size_t n, char **text, const char **why);

/* 1 when an attachment of this name and type is a .docx (by type or by a
 * ".docx" name); name and type may be NULL. */
int docx_is(const char *name, const char *type);

#endif
