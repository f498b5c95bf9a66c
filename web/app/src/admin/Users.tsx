/** Users and roles: promote or demote (their sessions are revoked), or log a user out everywhere. */
import { errorText } from "../api";
import { useEffect, useState } from "preact/hooks";
import { session } from "../session";

interface User {
  id: string;
  username: string;
  displayName: string;
  role: "viewer" | "creator" | "admin";
  createdAt: number;
}

export function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [note, setNote] = useState("");
  const load = () => void session.authed<User[]>("GET", "/api/admin/users").then(setUsers, (e: unknown) => setNote(errorText(e)));
  useEffect(load, []);
  const act = (p: Promise<unknown>, done: string) => void p.then(() => (setNote(done), load()), (e: unknown) => setNote(errorText(e)));
  return (
    <section class="panel" aria-label="Users and roles">
      <h2>Users and roles</h2>
      {note ? <p role="status" class="status">{note}</p> : null}
      <table class="users">
        <thead>
          <tr><th>User</th><th>Role</th><th>Sessions</th></tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-user={u.username}>
              <td>{u.displayName} <span class="status">@{u.username}</span></td>
              <td>
                <select aria-label={`Role of ${u.username}`} value={u.role} disabled={u.id === session.user?.id} onChange={(e) => act(session.authed("POST", `/api/admin/users/${u.id}/role`, { role: e.currentTarget.value }), `${u.username} is now ${e.currentTarget.value}`)}>
                  <option value="viewer">viewer</option>
                  <option value="creator">creator</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>
                <button type="button" disabled={u.id === session.user?.id} onClick={() => act(session.authed("POST", `/api/admin/users/${u.id}/revoke`), `${u.username} was logged out everywhere`)}>Log out everywhere</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
