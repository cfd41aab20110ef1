using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Streams.Stewards.Security;

/// <summary>Sign-in (a cookie), the two roles, antiforgery and the response headers of the console.</summary>
internal static class StewardsSecurity
{
    public const string StewardPolicy = "steward";
    public const string CookieName = "streams.stewards";
    public const string SignInLimit = "signin";

    /// <summary>Sign-in attempts one address may make per minute; beyond them it is answered 429 without a password check.</summary>
    public const int SignInAttemptsPerMinute = 20;
    private const string StampClaim = "streams:stamp";

    public static void AddStewardsSecurity(this WebApplicationBuilder web, StewardsOptions options)
    {
        web.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = options.SignInLifetime;
            cookie.SlidingExpiration = true;
            cookie.LoginPath = "/signin";
            cookie.Events.OnRedirectToLogin = context =>
            {
                // A page asked for without a sign-in leads to the sign-in form; a form posted without one is refused.
                if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
                {
                    context.Response.Redirect(context.RedirectUri);
                }
                else
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }

                return Task.CompletedTask;
            };
            cookie.Events.OnRedirectToAccessDenied = context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
            // A user removed from the configuration, given another role or a new password is signed out at the next request.
            cookie.Events.OnValidatePrincipal = async context =>
            {
                var users = context.HttpContext.RequestServices.GetRequiredService<IOptions<StewardsOptions>>().Value.Users;
                var name = context.Principal?.Identity?.Name;
                if (name is null || !users.TryGetValue(name, out var user) || context.Principal!.FindFirstValue(StampClaim) != Stamp(user))
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
                }
            };
        });
        web.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder()
                .RequireAuthenticatedUser().RequireRole(StewardRoles.All).Build())
            .AddPolicy(StewardPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(StewardRoles.Steward));
        // Each guess already costs a PBKDF2 hash; the limit keeps one address from making them at the speed of the CPU.
        web.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(SignInLimit, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? string.Empty,
                _ => new FixedWindowRateLimiterOptions { PermitLimit = SignInAttemptsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
        web.Services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = CookieName + ".antiforgery";
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            antiforgery.FormFieldName = "__antiforgery";
        });
    }

    public static void UseStewardsSecurity(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            // No script, no inline style, nothing from elsewhere: the pages are HTML, one stylesheet and inline SVG.
            headers.ContentSecurityPolicy =
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            // Any page may show a record; the browser keeps none of them (an original most of all) in its cache. The same
            // words antiforgery writes on a page with a form, so it has nothing to override (and warn about).
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
            await next(context).ConfigureAwait(false);
        });
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                // The framework's own handlers log the exception's message, and a message about a record (a database's
                // detail, a parser's complaint) can quote it: the type, the stack and the page are what an operator needs.
                context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StewardsSecurity).FullName!)
                    .LogError("{Method} {Path} failed: {Exception} {StackTrace}", context.Request.Method, context.Request.Path,
                        e.GetType().FullName, e.StackTrace);
                if (context.Response.HasStarted)
                {
                    // Rethrown, the server would log the message after all; a page cut short is what the browser sees.
                    context.Abort();
                    return;
                }

                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("The console failed to answer; the host's log says where.", context.RequestAborted)
                    .ConfigureAwait(false);
            }
        });
        app.UseRouting();
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
    }

    /// <summary>Refuses, with 400, a form posted without the antiforgery token of the signed-in user's page.</summary>
    public static async ValueTask<object?> RequireAntiforgery(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var antiforgery = context.HttpContext.RequestServices.GetRequiredService<IAntiforgery>();
        if (!await antiforgery.IsRequestValidAsync(context.HttpContext).ConfigureAwait(false))
        {
            return Results.Text("The form's antiforgery token is missing or stale: reload the page and try again.", "text/plain",
                statusCode: StatusCodes.Status400BadRequest);
        }

        return await next(context).ConfigureAwait(false);
    }

    public static ClaimsPrincipal Principal(string name, StewardUser user) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, user.Role), new Claim(StampClaim, Stamp(user))],
        CookieAuthenticationDefaults.AuthenticationScheme));

    // Changes when the user's password hash or role does; not the hash itself, which stays out of the cookie.
    private static string Stamp(StewardUser user) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(user.Role + "\n" + user.PasswordHash)))[..16];
}
