-- Outbound mail: what kind of mail an outbox row is, and when a sender claimed it (a claim older
-- than the sender's lease is taken back, so a crashed instance never strands a mail).
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply';
ALTER TABLE outbox ADD COLUMN claimed_at TIMESTAMP;

-- Canned responses: reusable reply texts per language, with {{case_number}}, {{customer_name}}
-- and {{agent_name}} placeholders filled in when picked.
CREATE TABLE canned_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    lang TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (name, lang)
);

-- Asking for logs: point the customer at the upload link, never at an account and password
-- (the motivating thread mailed "用户名：userchen / 密码：chen123" in clear text).
INSERT INTO canned_responses (name, lang, body, created_at, updated_at) VALUES
('收集日志', 'zh-CN', '{{customer_name}}，您好：

为进一步分析案例 {{case_number}} 的问题，请您按照如下步骤收集日志：
1) 在出现问题的计算机上运行日志收集工具，勾选系统信息、系统日志和激活日志后点击“收集”。
2) 收集完毕后，桌面上会生成一个压缩文件。
3) 请通过我们随后发送给您的本案例专用上传链接上传该压缩文件。上传链接仅用于本案例，无需用户名和密码；请不要通过邮件发送任何密码。

如有任何疑问，欢迎随时与我联系。

{{agent_name}}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
('Collect logs', 'en', 'Hello {{customer_name}},

To analyse case {{case_number}} further, please collect logs as follows:
1) On the affected computer, run the log collection tool, select system information, system logs and activation logs, and click "Collect".
2) When it finishes, a compressed file appears on the desktop.
3) Upload that file through the upload link for this case, which we send you separately. The link works for this case only and needs no user name or password; please never send passwords by mail.

If anything is unclear, just reply to this message.

{{agent_name}}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
