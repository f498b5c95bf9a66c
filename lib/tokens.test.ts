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
});
