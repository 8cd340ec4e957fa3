/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00020}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** The sign-in form of the authorization endpoint. */
export function loginPage(input: {
  requestId: string;
  clientName: string;
  error?: string;
  email?: string;
}): string {
  return page(
    'Sign in to Velora',
    `<p>${escapeHtml(input.clientName)} wants to access your Velora account.</p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="authorize" autocomplete="on">
<input type="hidden" name="request_id" value="${escapeHtml(input.requestId)}">
<label for="email">Email</label><input id="email" name="email" type="email" required maxlength="254" value="${escapeHtml(input.email ?? '')}" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" required maxlength="128" autocomplete="current-password">
<button type="submit">Sign in</button></form>`,
  );
}

/** The second-factor form shown when the user enabled OTP. */
export function otpPage(input: { requestId: string; challengeId: string; error?: string }): string {
  return page(
    'Enter your code',
    `<p>We sent a 6-digit code to your email.</p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="authorize">
<input type="hidden" name="request_id" value="${escapeHtml(input.requestId)}">
<input type="hidden" name="challenge_id" value="${escapeHtml(input.challengeId)}">
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required autocomplete="one-time-code">
<button type="submit">Continue</button></form>`,
  );
}

/** Shown when the request cannot be sent back to the client (unknown client or redirect URI). */
export function errorPage(message: string): string {
  return page('Sign-in request refused', `<p class="error">${escapeHtml(message)}</p>`);
}
