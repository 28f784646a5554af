// What the phone reads from the server, with its device credential (Bearer header): its home,
// a TPS search, the clock, and the enrolment exchange. Every answer is {ok, status, body};
// no network is {ok: false, offline: true}; a refused credential is {revoked: true, reason}.

async function call(fetchFn, url, init) {
  let res;
  try {
    res = await fetchFn(url, { cache: "no-store", ...init });
  } catch {
    return { ok: false, offline: true, status: 0, body: null };
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const detail = body && typeof body.detail === "object" && body.detail ? body.detail : {};
  return {
    ok: res.ok,
    offline: false,
    status: res.status,
    body,
    revoked: res.status === 401,
    reason: detail.reason || null,
    code: detail.code || null,
  };
}

export function createApi({ fetch: fetchFn, base = "", token = () => null }) {
  const auth = () => ({ Authorization: "Bearer " + token(), Accept: "application/json" });
  return {
    /** The officer, the server's time and the officer's TPS cards. */
    me: () => call(fetchFn, `${base}/api/v1/field/me`, { headers: auth() }),
    /** TPS of the officer's Polsek area matching `q` (code, number or desa). */
    searchTps: (q, limit = 20) =>
      call(fetchFn, `${base}/api/v1/field/tps?q=${encodeURIComponent(q)}&limit=${limit}`, {
        headers: auth(),
      }),
    /** The server's clock (no credential needed). */
    clock: () => call(fetchFn, `${base}/api/v1/clock`, { headers: { Accept: "application/json" } }),
    /** Exchange a one-time enrolment code for this phone's device credential. */
    redeem: (code) =>
      call(fetchFn, `${base}/api/v1/enrolments/redeem`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ code }),
      }),
  };
}

/** Why a redeem failed, as the code the result page words: used, expired, revoked, ... */
export function redeemFailure(answer) {
  if (answer.offline) return "offline";
  if (answer.code && ["used", "expired", "revoked", "unknown"].includes(answer.code)) return answer.code;
  if (answer.status === 404) return "unknown";
  if (answer.status === 410) return "used";
  if (answer.status === 429) return "throttled";
  return "error";
}
