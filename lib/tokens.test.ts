import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { RevocationList } from "./revocations.js";
import { signAccessToken, TokenVerifier } from "./tokens.js";

async function keypair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return { kid, pub: { kid, jwk: await exportJWK(publicKey) }, priv: await exportJWK(privateKey), privateKey };
}

const who = { userId: "u1", name: "Ann", role: "creator" as const, guest: false, sid: "s1" };

describe("access tokens", () => {
  it("verifies a token signed by a published key and returns the principal", async () => {
    const k = await keypair("k1");
    const v = new TokenVerifier({ fetchKeys: () => Promise.resolve([k.pub]) }, new RevocationList());
    await v.refresh();
    const { token, exp } = await signAccessToken(who, 60, k.kid, k.priv);
    assert.deepEqual(await v.verify(token), { ...who, exp });
  });

  it("answers TOKEN_EXPIRED, UNAUTHENTICATED for forged/unknown/garbage, TOKEN_REVOKED for revoked", async () => {
    const k = await keypair("k1");
    const other = await keypair("k1"); // same kid, different key: a forgery
    const stranger = await keypair("k9");
    const revoked = new RevocationList();
    let fetches = 0;
    const v = new TokenVerifier({ fetchKeys: () => (fetches++, Promise.resolve([k.pub])) }, revoked);
    await v.refresh();
    const expired = await signAccessToken(who, -10, k.kid, k.priv);
    await assert.rejects(v.verify(expired.token), { type: "TOKEN_EXPIRED" });
    const forged = await signAccessToken(who, 60, other.kid, other.priv);
    await assert.rejects(v.verify(forged.token), { type: "UNAUTHENTICATED" });
    const unknownKid = await signAccessToken(who, 60, stranger.kid, stranger.priv);
    await new Promise((r) => setTimeout(r, 1100)); // an unknown kid may refetch once a second
    await assert.rejects(v.verify(unknownKid.token), { type: "UNAUTHENTICATED" });
    assert.equal(fetches, 2, "the unknown kid triggered one refetch");
    for (const junk of ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]) await assert.rejects(v.verify(junk), { type: "UNAUTHENTICATED" });
    // alg confusion: an HS256 token with the public key bytes as secret must not pass
    const hs = await new SignJWT({ role: "admin", sid: "x" }).setProtectedHeader({ alg: "HS256", kid: "k1" }).setSubject("u1").setIssuer("echostreamhub").setExpirationTime("1h").sign(new TextEncoder().encode(JSON.stringify(k.pub.jwk)));
    await assert.rejects(v.verify(hs), { type: "UNAUTHENTICATED" });
    const good = await signAccessToken(who, 60, k.kid, k.priv);
    revoked.add([{ sid: "s1", until: Date.now() + 60_000 }]);
    await assert.rejects(v.verify(good.token), { type: "TOKEN_REVOKED" });
  });

  it("a token with a role outside the table is refused", async () => {
    const k = await keypair("k1");
    const v = new TokenVerifier({ fetchKeys: () => Promise.resolve([k.pub]) }, new RevocationList());
    await v.refresh();
    const t = await new SignJWT({ role: "superuser", sid: "s", name: "x" }).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).setSubject("u").setIssuer("echostreamhub").setExpirationTime("1h").sign(k.privateKey);
    await assert.rejects(v.verify(t), { type: "UNAUTHENTICATED" });
  });

  it("verifySync (the WebSocket upgrade's check) decides every case as verify does", async () => {
    const k = await keypair("k1");
    const other = await keypair("k1");
    const stranger = await keypair("k9");
    const revoked = new RevocationList();
    const v = new TokenVerifier({ fetchKeys: () => Promise.resolve([k.pub]) }, revoked);
    await v.refresh();
    const outcome = async (f: () => unknown): Promise<string> => {
      try {
        return JSON.stringify(await f());
      } catch (err) {
        return (err as { type?: string }).type ?? String(err);
      }
    };
    const sign = (claims: Record<string, unknown>, iss = "echostreamhub", key = k.privateKey) => new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).setSubject("u").setIssuer(iss).setExpirationTime("1h").sign(key);
    const good = await signAccessToken(who, 60, k.kid, k.priv);
    const cases: Record<string, string> = {
      good: good.token,
      expired: (await signAccessToken(who, -10, k.kid, k.priv)).token,
      forged: (await signAccessToken(who, 60, other.kid, other.priv)).token,
      tampered: `${good.token.split(".")[0] ?? ""}.${Buffer.from(JSON.stringify({ sub: "u1", role: "admin", sid: "s1", iss: "echostreamhub", exp: good.exp })).toString("base64url")}.${good.token.split(".")[2] ?? ""}`,
      wrongIssuer: await sign({ role: "viewer", sid: "s" }, "someone-else"),
      badRole: await sign({ role: "superuser", sid: "s" }),
      notBefore: await new SignJWT({ role: "viewer", sid: "s" }).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).setSubject("u").setIssuer("echostreamhub").setNotBefore("10m").setExpirationTime("1h").sign(k.privateKey),
      noExp: await new SignJWT({ role: "viewer", sid: "s" }).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).setSubject("u").setIssuer("echostreamhub").sign(k.privateKey),
      hs256: await new SignJWT({ role: "admin", sid: "x" }).setProtectedHeader({ alg: "HS256", kid: "k1" }).setSubject("u1").setIssuer("echostreamhub").setExpirationTime("1h").sign(new TextEncoder().encode(JSON.stringify(k.pub.jwk))),
      junk: "a.b.c",
      empty: "",
    };
    for (const [name, token] of Object.entries(cases)) {
      assert.equal(await outcome(() => v.verifySync(token)), await outcome(() => v.verify(token)), name);
    }
    assert.equal(await outcome(() => v.verifySync(cases.expired ?? "")), "TOKEN_EXPIRED");
    assert.equal(await outcome(() => v.verifySync(cases.tampered ?? "")), "UNAUTHENTICATED");
    assert.equal(v.verifySync((await signAccessToken(who, 60, stranger.kid, stranger.priv)).token), undefined, "an unknown kid needs I/O: undefined");
    revoked.add([{ sid: "s1", until: Date.now() + 60_000 }]);
    assert.equal(await outcome(() => v.verifySync(good.token)), "TOKEN_REVOKED");
  });
});
