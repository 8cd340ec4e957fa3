import { eventually } from './api-client.js';

/** An email Mailpit caught, as the person it was sent to reads it. */
export interface CaughtMail {
  id: string;
  subject: string;
  text: string;
}

interface MailpitSummary {
  ID: string;
  Subject: string;
  To: { Address: string }[];
}

/** The messages Mailpit at `mailpitUrl` caught for `recipient`, newest first. */
export async function mailsTo(mailpitUrl: string, recipient: string): Promise<MailpitSummary[]> {
  const query = encodeURIComponent(`to:"${recipient}"`);
  const res = await fetch(`${mailpitUrl}/api/v1/search?query=${query}&limit=50`);
  if (!res.ok) throw new Error(`Mailpit search answered ${res.status}`);
  const body = (await res.json()) as { messages: MailpitSummary[] };
  // The search matches substrings; a person's mailbox is their exact address.
  return body.messages.filter((m) => m.To.some((t) => t.Address.toLowerCase() === recipient.toLowerCase()));
}

/** The newest message with `subject` caught for `recipient`, waiting for it to arrive. */
export async function latestMail(
  mailpitUrl: string,
  recipient: string,
  subject: string,
  timeoutMs = 20_000,
): Promise<CaughtMail> {
  const list = await eventually(
    () => mailsTo(mailpitUrl, recipient),
    (messages) => messages.some((m) => m.Subject === subject),
    timeoutMs,
  );
  const id = list.find((m) => m.Subject === subject)!.ID;
  const res = await fetch(`${mailpitUrl}/api/v1/message/${id}`);
  if (!res.ok) throw new Error(`Mailpit message ${id} answered ${res.status}`);
  const message = (await res.json()) as { Subject: string; Text: string };
  return { id, subject: message.Subject, text: message.Text };
}

/** The six-digit code in a message's text (the templates put exactly one there). */
export function codeIn(mail: CaughtMail): string {
  const codes = mail.text.match(/\b[0-9]{6}\b/g) ?? [];
  if (codes.length !== 1) throw new Error(`expected one code in "${mail.subject}", found ${codes.length}`);
  return codes[0];
}
