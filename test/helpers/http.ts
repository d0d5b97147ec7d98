/** A response's JSON body, for assertions (tests check its shape themselves). */
export async function jsonOf(response: Response): Promise<Record<string, any>> {
  const text = await response.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (status ${response.status}): ${text.slice(0, 500)}`);
  }
}
