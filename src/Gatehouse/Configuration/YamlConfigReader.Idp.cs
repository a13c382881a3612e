using System.Buffers.Binary;
using System.Net.Mail;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Configuration;

/// <summary>The <c>idp:</c> section: the built-in provider, its users (inline or in <c>users_file</c>), sessions and lock-out.</summary>
internal sealed partial class YamlConfigReader
{
    private static readonly string[] s_idpKeys =
    [
        "provider", "users", "users_file", "session_lifetime", "lockout",
        "provider_url", "client_id", "client_secret", "scopes", "groups_claim", "authorization_url_params",
    ];

    private static readonly string[] s_builtinOnlyKeys = ["users", "users_file", "lockout"];
    private static readonly string[] s_oidcOnlyKeys = ["provider_url", "client_id", "client_secret", "scopes", "groups_claim", "authorization_url_params"];
    private static readonly string[] s_lockoutKeys = ["max_failed_attempts", "max_failed_attempts_per_address", "lockout_duration"];
    private static readonly string[] s_userKeys = ["email", "name", "groups", "password_hash"];

    private const string HashFix = "run `gatehouse users hash-password` and paste the line it prints";

    /// <summary>Where an error in a user list is: the main file, or a users file named in the key.</summary>
    private delegate ConfigError UserErrorFactory(string key, YamlNode node, string message);

    private IdpConfig? ReadIdp(Dictionary<string, YamlNode> top)
    {
        if (!top.TryGetValue("idp", out var idpNode))
        {
            return null;
        }

        if (idpNode is not YamlMappingNode map)
        {
            _errors.Add(Error("idp", idpNode, "expected a mapping such as `provider: builtin` with `users:` or `users_file:`"));
            return null;
        }

        var keys = CheckKeys(map, "idp.", s_idpKeys);
        if (!keys.TryGetValue("provider", out var providerNode))
        {
            _errors.Add(Error("idp", map, "missing `provider:`; write `provider: builtin` (users listed in the configuration)"));
            return null;
        }

        switch (Scalar(providerNode, "idp.provider", "a provider name"))
        {
            case "builtin":
                foreach (var key in s_oidcOnlyKeys.Where(keys.ContainsKey))
                {
                    _errors.Add(Error("idp." + key, keys[key], "belongs to `provider: oidc`; the builtin provider takes `users`, `users_file` and `lockout`"));
                }

                break;
            case "oidc":
                return ReadOidcIdp(keys, map);
            case var other when providerNode is YamlScalarNode:
                _errors.Add(Error("idp.provider", providerNode, $"`{other}` is not a provider; use `builtin` (users in the configuration) or `oidc` (any OpenID Connect provider)"));
                return null;
            default:
                return null;
        }

        var users = new List<(BuiltinUser User, YamlNode Node, UserErrorFactory Error, string At)>();
        if (keys.TryGetValue("users", out var usersNode))
        {
            ReadUsers(usersNode, "idp.users", Error, users, substitute: true);
        }

        if (keys.TryGetValue("users_file", out var fileNode) && OptionalFile(keys, "users_file", "idp.users_file") is { } usersFile)
        {
            ReadUsersFile(usersFile, fileNode, users);
        }

        if (!keys.ContainsKey("users") && !keys.ContainsKey("users_file"))
        {
            _errors.Add(Error("idp", map, "the builtin provider needs `users:` (a list of email, name, groups, password_hash) or `users_file:`"));
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (user, node, error, at) in users)
        {
            if (!seen.Add(user.Email))
            {
                _errors.Add(error(at + ".email", node, $"`{user.Email}` is listed twice (emails are compared without case); keep one"));
            }
        }

        var lifetime = OptionalDuration(keys, "session_lifetime", "idp.session_lifetime") ?? IdpConfig.DefaultSessionLifetime;
        var lockout = new LockoutConfig();
        if (keys.TryGetValue("lockout", out var lockoutNode))
        {
            lockout = ReadLockout(lockoutNode);
        }

        return new IdpConfig { Users = users.Select(u => u.User).ToList(), SessionLifetime = lifetime, Lockout = lockout };
    }

    private IdpConfig? ReadOidcIdp(Dictionary<string, YamlNode> keys, YamlMappingNode map)
    {
        foreach (var key in s_builtinOnlyKeys.Where(keys.ContainsKey))
        {
            _errors.Add(Error("idp." + key, keys[key], "belongs to `provider: builtin`; with `provider: oidc` users are managed by the OpenID Connect provider"));
        }

        Uri? providerUrl = null;
        if (!keys.TryGetValue("provider_url", out var urlNode))
        {
            _errors.Add(Error("idp", map, "missing `provider_url:`, the provider's issuer URL such as https://accounts.google.com"));
        }
        else if (ReadUrl(urlNode, "idp.provider_url", requirePathless: false) is { } url)
        {
            if (url.Scheme == Uri.UriSchemeHttp && !Authorization.RedirectUriRules.IsLoopbackHost(url.Host))
            {
                _errors.Add(Error("idp.provider_url", urlNode, "an identity provider must be reached over https (plain http is accepted only on loopback, for development)"));
            }
            else
            {
                providerUrl = url;
            }
        }

        var clientId = OptionalString(keys, "client_id", "idp.client_id")?.Trim();
        if (string.IsNullOrEmpty(clientId))
        {
            _errors.Add(Error("idp.client_id", keys.GetValueOrDefault("client_id") ?? map, "missing: the client id Gatehouse was registered with at the provider"));
        }

        var secret = OptionalString(keys, "client_secret", "idp.client_secret");
        if (secret is { Length: 0 })
        {
            _errors.Add(Error("idp.client_secret", keys["client_secret"], "is empty; remove the key for a public client, or set it (for example `${OIDC_CLIENT_SECRET}`)"));
        }

        var scopes = keys.TryGetValue("scopes", out var scopesNode) ? ReadStringList(scopesNode, "idp.scopes") : [.. OidcProviderConfig.DefaultScopes];
        if (scopesNode is not null && !scopes.Contains("openid"))
        {
            _errors.Add(Error("idp.scopes", scopesNode, "must include `openid` (OpenID Connect Core §3.1.2.1)"));
        }

        var groupsClaim = OptionalString(keys, "groups_claim", "idp.groups_claim")?.Trim();
        var parameters = keys.TryGetValue("authorization_url_params", out var paramsNode)
            ? ReadStringMap(paramsNode, "idp.authorization_url_params")
            : System.Collections.Frozen.FrozenDictionary<string, string>.Empty;
        foreach (var reserved in new[] { "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method" })
        {
            if (parameters.ContainsKey(reserved))
            {
                _errors.Add(Error("idp.authorization_url_params", paramsNode!, $"`{reserved}` is set by Gatehouse itself; remove it"));
            }
        }

        var lifetime = OptionalDuration(keys, "session_lifetime", "idp.session_lifetime") ?? IdpConfig.DefaultSessionLifetime;
        if (providerUrl is null || string.IsNullOrEmpty(clientId))
        {
            return null;
        }

        return new IdpConfig
        {
            Provider = IdpProvider.Oidc,
            SessionLifetime = lifetime,
            Oidc = new OidcProviderConfig
            {
                ProviderUrl = providerUrl,
                ClientId = clientId,
                ClientSecret = secret,
                Scopes = scopes,
                GroupsClaim = string.IsNullOrEmpty(groupsClaim) ? "groups" : groupsClaim,
                AuthorizationUrlParams = parameters,
            },
        };
    }

    private LockoutConfig ReadLockout(YamlNode node)
    {
        var lockout = new LockoutConfig();
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error("idp.lockout", node, "expected a mapping such as `{max_failed_attempts: 5, lockout_duration: 15m}`"));
            return lockout;
        }

        var keys = CheckKeys(map, "idp.lockout.", s_lockoutKeys);
        if (OptionalWholeNumber(keys, "max_failed_attempts", "idp.lockout.max_failed_attempts", 1, 1000, "5") is { } max)
        {
            lockout = lockout with { MaxFailedAttempts = max };
        }

        if (OptionalWholeNumber(keys, "max_failed_attempts_per_address", "idp.lockout.max_failed_attempts_per_address", 0, 100_000, "50") is { } perAddress)
        {
            lockout = lockout with { MaxFailedAttemptsPerAddress = perAddress };
        }

        if (OptionalDuration(keys, "lockout_duration", "idp.lockout.lockout_duration") is { } duration)
        {
            lockout = lockout with { LockoutDuration = duration };
        }

        return lockout;
    }

    private void ReadUsersFile(string path, YamlNode fileNode, List<(BuiltinUser, YamlNode, UserErrorFactory, string)> users)
    {
        // Errors inside the users file carry its own line and column in the key, since the message is prefixed
        // with the main configuration file's name.
        UserErrorFactory error = (key, node, message) => new ConfigError($"idp.users_file {path}:{node.Start.Line}:{node.Start.Column}: {key}", 0, 0, message);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(File.ReadAllText(path)));
        }
        catch (YamlException ex)
        {
            _errors.Add(Error("idp.users_file", fileNode, $"`{path}` is not valid YAML at {ex.Start.Line}:{ex.Start.Column}: {ex.InnerException?.Message ?? ex.Message}"));
            return;
        }
        catch (IOException ex)
        {
            _errors.Add(Error("idp.users_file", fileNode, $"cannot read `{path}`: {ex.Message}"));
            return;
        }

        // The same list as `idp.users`, either as the whole document or under a `users:` key.
        var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        if (root is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode("users"), out var list))
        {
            root = list;
        }

        if (root is null or YamlScalarNode { Value: null or "" })
        {
            _errors.Add(Error("idp.users_file", fileNode, $"`{path}` is empty; it needs `users:` with a list of email, name, groups, password_hash"));
            return;
        }

        ReadUsers(root, "users", error, users, substitute: false);
    }

    private void ReadUsers(YamlNode node, string at, UserErrorFactory error, List<(BuiltinUser, YamlNode, UserErrorFactory, string)> users, bool substitute)
    {
        if (node is not YamlSequenceNode sequence)
        {
            _errors.Add(error(at, node, "expected a list of users, each starting with `- email:`"));
            return;
        }

        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var itemAt = $"{at}[{i}]";
            if (sequence.Children[i] is not YamlMappingNode map)
            {
                _errors.Add(error(itemAt, sequence.Children[i], "expected a user mapping with `email`, `name`, `groups` and `password_hash`"));
                continue;
            }

            var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (keyNode, valueNode) in map.Children)
            {
                var key = (keyNode as YamlScalarNode)?.Value ?? "";
                if (Array.IndexOf(s_userKeys, key) < 0)
                {
                    _errors.Add(error(itemAt + "." + key, keyNode, "unknown key; allowed here: " + string.Join(", ", s_userKeys)));
                }
                else if (!values.TryAdd(key, valueNode))
                {
                    _errors.Add(error(itemAt + "." + key, keyNode, "this key appears twice; keep one"));
                }
            }

            string? Text(string key)
            {
                if (!values.TryGetValue(key, out var value))
                {
                    return null;
                }

                if (value is not YamlScalarNode scalar)
                {
                    _errors.Add(error($"{itemAt}.{key}", value, "expected a string"));
                    return null;
                }

                return substitute && scalar.Value is not null ? Substitute(scalar.Value, $"{itemAt}.{key}", value) : scalar.Value;
            }

            var email = Text("email")?.Trim();
            if (string.IsNullOrEmpty(email))
            {
                _errors.Add(error(itemAt + ".email", values.GetValueOrDefault("email") ?? map, "missing: every user needs `email:`, such as alice@example.com"));
                continue;
            }

            if (!IsEmail(email))
            {
                _errors.Add(error(itemAt + ".email", values["email"], $"`{email}` is not an email address; write one such as alice@example.com"));
                continue;
            }

            var hash = Text("password_hash")?.Trim();
            if (string.IsNullOrEmpty(hash))
            {
                _errors.Add(error(itemAt + ".password_hash", values.GetValueOrDefault("password_hash") ?? map, $"missing: every user needs `password_hash:`; {HashFix}"));
                continue;
            }

            if (!IsIdentityV3Hash(hash))
            {
                // Never quote the value: it may be a plain-text password pasted by mistake.
                _errors.Add(error(itemAt + ".password_hash", values["password_hash"],
                    $"is not an ASP.NET Core Identity v3 password hash (base64 starting with AQAAAA); {HashFix}"));
                continue;
            }

            var groups = new List<string>();
            if (values.TryGetValue("groups", out var groupsNode))
            {
                if (groupsNode is YamlSequenceNode groupList)
                {
                    foreach (var g in groupList.Children)
                    {
                        if (g is YamlScalarNode { Value: { Length: > 0 } group })
                        {
                            groups.Add(group);
                        }
                        else
                        {
                            _errors.Add(error(itemAt + ".groups", g, "expected a group name"));
                        }
                    }
                }
                else if (groupsNode is YamlScalarNode { Value: { Length: > 0 } one })
                {
                    groups.Add(one);
                }
                else if (groupsNode is not YamlScalarNode)
                {
                    _errors.Add(error(itemAt + ".groups", groupsNode, "expected a list of group names such as `[sales, admins]`"));
                }
            }

            var name = Text("name")?.Trim();
            users.Add((new BuiltinUser(email, string.IsNullOrEmpty(name) ? email : name, groups, hash), values["email"], error, itemAt));
        }
    }

    internal static bool IsEmail(string text) =>
        !text.Any(char.IsWhiteSpace) && text.IndexOf('@', StringComparison.Ordinal) is > 0 && text.IndexOf('@', StringComparison.Ordinal) == text.LastIndexOf('@') &&
        MailAddress.TryCreate(text, out var address) && address.Address == text && address.Host.Contains('.', StringComparison.Ordinal);

    /// <summary>
    /// The layout of ASP.NET Core Identity's v3 format: 0x01, PRF (uint32), iteration count (uint32), salt length
    /// (uint32), salt, subkey. https://github.com/dotnet/aspnetcore/blob/main/src/Identity/Extensions.Core/src/PasswordHasher.cs
    /// </summary>
    internal static bool IsIdentityV3Hash(string hash)
    {
        var bytes = new byte[hash.Length];
        if (!Convert.TryFromBase64String(hash, bytes, out var length) || length < 13 + 16 || bytes[0] != 0x01)
        {
            return false;
        }

        var prf = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1));
        var iterations = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5));
        var saltLength = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(9));
        return prf <= 2 && iterations > 0 && saltLength >= 16 && 13 + saltLength < length;
    }
}
