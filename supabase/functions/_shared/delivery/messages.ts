/**
 * The words of each message. Plain wording with the word "code" (iOS autofill keys on it).
 *
 * @module
 */

/** Renders the SMS text for a code. */
export function renderSms(code: string, appName: string | undefined): string {
  return appName ? `Your ${appName} code is ${code}` : `Your verification code is ${code}`;
}
