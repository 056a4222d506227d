/* visible.h: the part of a mail its sender wrote this time (pure; pcre2).
 *
 * Cuts the text at the first quote or attribution that ends the new part:
 * ">" lines, "On ... wrote:" (also wrapped over two lines), Outlook
 * "-----Original Message-----" and "From: ... Sent: ..." header blocks,
 * "Begin forwarded message:", "---------- Forwarded message ---------",
 * signatures ("-- " line, "Sent from my iPhone" and the like). Common foreign
 * forms (Am ... schrieb, Le ... a écrit, El ... escribió, Von:/Gesendet:,
 * Fra:/Sendt:) are recognised too. */
#ifndef CGEN_VISIBLE_H
#define CGEN_VISIBLE_H

/* Returns the visible text (allocated, LF line ends, trailing blank lines
 * removed). text is UTF-8 with LF or CRLF; never NULL.
 * When the text starts with a quote (or an attribution and its quote), the
 * reply is below it: the visible text is then the lines that are neither
 * quoted nor attributions, up to the first signature or header block, with
 * runs of blank lines made one. Invalid UTF-8 is tolerated (such bytes never
 * match a pattern). The first call compiles the patterns (not thread-safe). */
char *visible_text(const char *text);

#endif
