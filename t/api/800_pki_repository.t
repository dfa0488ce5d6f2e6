# The public PKI repository at /pki/ (ACMPCAPublicRepository tag:repository=public on
# the acmpca_visible vhost): a few CAs in different states, the page rendered by headless
# Chromium (driven over WebDriver by chromedriver), the DOM checked, screenshots kept in
# t/logs/, and every download link fetched and compared with what the API returns.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use Digest::SHA ();
use File::Spec::Functions qw(catfile);
use File::Temp ();
use IO::Socket::INET ();
use LWP::UserAgent ();
use MIME::Base64 qw(decode_base64);
use URI ();
use POSIX ();
use Time::HiRes ();

plan tests => 54, need_module('acmpca');

my $V = 'acmpca_visible';
my $BASE = endpoint($V);
my $ua = LWP::UserAgent->new(timeout => 60, keep_alive => 0, max_redirect => 0);
my $LOGS = Apache::Test::vars('t_logs');

##########################################################################
# A tiny WebDriver client (W3C protocol) over LWP: enough to load a page, wait,
# run a script, type, and take a screenshot.
{
    package WebDriver;
    use JSON::PP ();
    my $J = JSON::PP->new->utf8->canonical->allow_nonref;

    sub new {
        my($class, %o) = @_;
        my $self = bless { %o, ua => LWP::UserAgent->new(timeout => 60, keep_alive => 0) }, $class;
        return $self;
    }

    sub call {
        my($self, $method, $path, $body) = @_;
        my $req = HTTP::Request->new($method => "http://127.0.0.1:$self->{port}$path");
        if (defined $body) {
            $req->header('Content-Type' => 'application/json');
            $req->content($J->encode($body));
        }
        my $res = $self->{ua}->request($req);
        my $data = eval { $J->decode($res->content) } || {};
        die "WebDriver $method $path: " . $res->status_line . ' ' . substr($res->content // '', 0, 500) . "\n"
            unless $res->is_success;
        return $data->{value};
    }

    sub start_session {
        my($self, @args) = @_;
        my $v = $self->call(POST => '/session', { capabilities => { alwaysMatch => {
            browserName => 'chrome',
            'goog:chromeOptions' => { binary => $self->{binary}, args => \@args },
        } } });
        $self->{session} = $v->{sessionId} or die "no session id\n";
        return $self;
    }

    sub s { my($self, $method, $path, $body) = @_; $self->call($method, "/session/$self->{session}$path", $body) }
    sub go { $_[0]->s(POST => '/url', { url => $_[1] }) }
    sub js { my($self, $script, @args) = @_; $self->s(POST => '/execute/sync', { script => $script, args => \@args }) }
    sub source { $_[0]->s(GET => '/source') }
    sub resize { $_[0]->s(POST => '/window/rect', { width => $_[1], height => $_[2] }) }
    sub screenshot { MIME::Base64::decode_base64($_[0]->s(GET => '/screenshot')) }

    sub find {
        my($self, $css) = @_;
        my $v = $self->s(POST => '/element', { using => 'css selector', value => $css });
        return (values %$v)[0];
    }

    sub type { my($self, $el, $text) = @_; $self->s(POST => "/element/$el/value", { text => $text }) }
    sub clear { my($self, $el) = @_; $self->s(POST => "/element/$el/clear", {}) }

    sub wait_for {
        my($self, $script, $timeout) = @_;
        my $deadline = Time::HiRes::time() + ($timeout || 20);
        while (Time::HiRes::time() < $deadline) {
            my $v = $self->js($script);
            return $v if $v;
            Time::HiRes::sleep(0.1);
        }
        return;
    }

    sub quit {
        my $self = shift;
        eval { $self->call(DELETE => "/session/$self->{session}") } if $self->{session};
        delete $self->{session};
    }
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    $port;
}

# chromedriver in a process group of its own, stopped (with its Chromium) at the end.
my($driver_pid, $wd);
sub start_browser {
    my $port = free_port();
    my $log = catfile($LOGS, 'chromedriver.log');
    $driver_pid = fork // die "fork: $!";
    if (!$driver_pid) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        exec '/usr/bin/chromedriver', "--port=$port", '--allowed-ips=127.0.0.1' or POSIX::_exit(127);
    }
    $wd = WebDriver->new(port => $port, binary => '/usr/bin/chromium');
    my $deadline = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $deadline) {
        my $ok = eval { $wd->call(GET => '/status')->{ready} };
        last if $ok;
        Time::HiRes::sleep(0.1);
    }
    my $profile = File::Temp::tempdir('acmpca-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $wd->start_session('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--disable-dev-shm-usage', "--user-data-dir=$profile",
        '--window-size=1280,1800');
    return $wd;
}

sub stop_browser {
    $wd->quit if $wd;
    if ($driver_pid) {
        kill 'TERM', -$driver_pid;
        my $deadline = Time::HiRes::time() + 5;
        while (waitpid($driver_pid, POSIX::WNOHANG()) == 0 && Time::HiRes::time() < $deadline) {
            Time::HiRes::sleep(0.05);
        }
        kill 'KILL', -$driver_pid;
        waitpid $driver_pid, 0;
        undef $driver_pid;
    }
}
END { stop_browser() }

sub get { my $r = $ua->get("$BASE$_[0]", @_[1 .. $#_]); $r }

sub der_of_pem {
    my $r = openssl({ stdin => $_[0] }, 'x509', '-outform', 'DER');
    $r->{rc} == 0 ? $r->{out} : undef;
}

sub _fp {
    my $r = openssl({ stdin => $_[0] }, 'x509', '-noout', '-fingerprint', '-sha256');
    $r->{out} =~ /Fingerprint=([0-9A-F:]+)/ ? $1 : undef;
}

##########################################################################
# The CAs: an ACTIVE root with CRL and OCSP, an ACTIVE subordinate with a CRL
# (and one revoked certificate, so that a CRL is published), a DISABLED root, a root
# still PENDING_CERTIFICATE and an untagged ACTIVE root (neither listed).

my $public = [{ Key => 'repository', Value => 'public' }];
my $tag = uniq('run');
my $crl_bucket = 'pki-repo-crls';
my $revocation = { CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => $crl_bucket,
                                         ExpirationInDays => 7 },
                   OcspConfiguration => { Enabled => JSON::PP::true } };

my $root = make_root_active(cn => "Repo Root $tag", extra => { Tags => $public,
                            RevocationConfiguration => $revocation });
my $sub = make_sub_active($root, cn => "Repo Issuing $tag",
                          extra => { Tags => [@$public, { Key => 'secret-tag', Value => "hidden-$tag" }],
                                     RevocationConfiguration => { CrlConfiguration =>
                                         $revocation->{CrlConfiguration} } });
my $disabled = make_root_active(cn => "Repo Disabled $tag", extra => { Tags => $public });
my $pending = create_ca(cn => "Repo Pending $tag", extra => { Tags => $public });
my $hidden = make_root_active(cn => "Repo Untagged $tag");
ok($root && $sub && $disabled && $pending && $hidden, 'five CAs made (root, subordinate, disabled, pending, untagged)')
    or BAIL_OUT('cannot make the CAs');
my $id = sub { (split m{/}, $_[0])[-1] };

is_api_ok((api(UpdateCertificateAuthority => { CertificateAuthorityArn => $disabled->{arn},
                                                Status => 'DISABLED' }))[2], 'one root disabled');

# A leaf of the subordinate, revoked: the subordinate's CRL then lists one entry.
my $leaf = openssl_key_csr(subj => "/CN=leaf $tag");
my $leaf_arn = issue_ca_cert($sub->{arn}, $leaf->{csr},
    template => 'arn:aws:acm-pca:::template/EndEntityCertificate/V1',
    validity => { Type => 'DAYS', Value => 10 });
my($leaf_serial) = ($leaf_arn // '') =~ m{/certificate/([0-9a-f]+)$};
$leaf_serial = '0' . $leaf_serial if length($leaf_serial // '') % 2;
my(undef, undef, $rres) = api(RevokeCertificate => { CertificateAuthorityArn => $sub->{arn},
    CertificateSerial => join(':', ($leaf_serial // '') =~ /(..)/g),
    RevocationReason => 'KEY_COMPROMISE' });
is_api_ok($rres, 'a leaf of the subordinate revoked');

##########################################################################
# The feed

my $res = get('/pki/cas.json');
is($res->code, 200, 'GET /pki/cas.json: 200');
like($res->header('Content-Type') // '', qr{^application/json}, '... application/json');
my $feed = json_decode($res->content) || {};
my %byid = map { $_->{id} => $_ } @{ $feed->{certificateAuthorities} || [] };
ok($byid{ $id->($root->{arn}) } && $byid{ $id->($sub->{arn}) } && $byid{ $id->($disabled->{arn}) },
   'the tagged root, subordinate and disabled CA are listed');
ok(!$byid{ $id->($pending) } && !$byid{ $id->($hidden->{arn}) },
   'the pending CA and the untagged CA are not');
is($byid{ $id->($disabled->{arn}) }{status}, 'DISABLED', 'the disabled CA shows DISABLED');
unlike($res->content, qr/arn:aws|123456789012|secret-tag|hidden-\Q$tag\E|_Certificate|Tags/,
       'the feed shows no ARN, account, tag or private member');
# The CRL job may publish a CA's CRL between two GETs, which changes the feed and its
# ETag: a 200 is then followed by another try with the new ETag.
my $cond = 0;
for (1 .. 5) {
    my $etag = get('/pki/cas.json')->header('ETag');
    last if ($cond = get('/pki/cas.json', 'If-None-Match' => $etag)->code) == 304;
}
is($cond, 304, 'a conditional GET with the ETag: 304');

# Time until the CRL shows: published after the revocation (the revocation helper
# publishes synchronously or the page says "Not yet published").
my $sub_crl = $byid{ $id->($sub->{arn}) }{crl} || {};
ok($sub_crl->{published}, "the subordinate's CRL is published") or diag(explain($sub_crl));
is($sub_crl->{entries}, 1, '... with one entry');

##########################################################################
# The page in headless Chromium

SKIP: {
    skip 'chromium or chromedriver is not installed (scripts/deps.sh installs them)', 33
        unless -x '/usr/bin/chromium' && -x '/usr/bin/chromedriver';

    eval { start_browser() };
    ok(!$@, 'chromedriver started headless Chromium') or diag($@);
    skip 'no browser', 32 if $@;

    $wd->go("$BASE/pki/");
    my $state = $wd->wait_for(q{var s = document.body && document.body.getAttribute('data-state');
                                return s === 'loading' ? null : s;}, 30);
    is($state, 'ready', 'the page loaded the feed and drew the list (data-state=ready)');

    # The DOM as rendered, card by card.
    my $cards = $wd->js(q{
        return Array.prototype.map.call(document.querySelectorAll('article.ca'), function (a) {
            var f = function (n) { var e = a.querySelector('[data-field="' + n + '"]');
                                   return e ? e.textContent : null; };
            var l = {};
            Array.prototype.forEach.call(a.querySelectorAll('a[data-link]'), function (x) {
                l[x.getAttribute('data-link')] = x.getAttribute('href'); });
            return { id: a.getAttribute('data-ca-id'), name: a.querySelector('h2').textContent,
                     status: f('status'), type: f('type'), subject: f('subject'),
                     fingerprint: f('fingerprint'), key: f('keyAlgorithm'), crl: f('crl'),
                     ocsp: f('ocsp'), notAfter: f('notAfter'), links: l,
                     labelledby: a.getAttribute('aria-labelledby') };
        });
    });
    my %card = map { $_->{id} => $_ } @$cards;
    my($rc, $sc, $dc) = map { $card{ $id->($_) } } $root->{arn}, $sub->{arn}, $disabled->{arn};
    ok($rc && $sc && $dc, 'the root, subordinate and disabled CA each have a card');
    ok(!$card{ $id->($pending) } && !$card{ $id->($hidden->{arn}) }, 'the pending and untagged CAs have none');
    is(scalar(@$cards), scalar(keys %byid), 'one card per CA of the feed');
    is($rc && $rc->{name}, "Repo Root $tag", 'the root card is headed by its common name');
    is($rc && $rc->{status}, 'Active', '... status Active');
    is($rc && $rc->{type}, 'Root CA', '... type Root CA');
    is($sc && $sc->{type}, 'Subordinate CA', 'the subordinate card says Subordinate CA');
    is($dc && $dc->{status}, 'Disabled', 'the disabled card says Disabled');
    is($rc && $rc->{fingerprint}, _fp($root->{cert}), "the root's SHA-256 fingerprint is openssl's");
    is($sc && $sc->{fingerprint}, _fp($sub->{cert}), "the subordinate's too");
    like($rc && $rc->{subject}, qr/^CN=Repo Root \Q$tag\E,O=mod_acmpca tests$/, 'the subject in RFC 2253 form');
    is($rc && $rc->{key}, 'EC_prime256v1', 'the key algorithm');
    like($rc && $rc->{ocsp}, qr{^http://127\.0\.0\.1:\d+/ocsp$}, 'the OCSP URL of the root');
    is($sc && $sc->{ocsp}, 'Not enabled', 'the subordinate has no OCSP');
    like($sc && $sc->{crl}, qr{/\Q$crl_bucket\E/crl/\Q$sc->{id}\E\.crl.*Number \d+, 1 entry}s,
         "the subordinate's CRL: URL, number, one entry");
    like($dc && $dc->{crl}, qr/CRLs are disabled/, 'the disabled root has no CRL');

    # Accessibility basics: language, a label for the filter, headings, link names.
    my $a11y = $wd->js(q{
        var bad = Array.prototype.filter.call(document.querySelectorAll('a'), function (a) {
            return !(a.textContent.trim() || a.getAttribute('aria-label')); });
        var lab = document.querySelector('label[for="filter"]');
        var ids = Array.prototype.every.call(document.querySelectorAll('article.ca'), function (a) {
            return !!document.getElementById(a.getAttribute('aria-labelledby')); });
        return { lang: document.documentElement.lang, label: lab ? lab.textContent : null,
                 h1: document.querySelectorAll('h1').length, unnamedLinks: bad.length,
                 labelled: ids, live: document.getElementById('count').getAttribute('aria-live'),
                 viewport: !!document.querySelector('meta[name="viewport"]') };
    });
    is_deeply($a11y, { lang => 'en', label => 'Filter', h1 => 1, unnamedLinks => 0, labelled => JSON::PP::true,
                       live => 'polite', viewport => JSON::PP::true },
              'accessible: lang, labelled filter, one h1, named links, labelled cards, live count');

    # The filter narrows the list.
    my $input = $wd->find('#filter');
    $wd->type($input, 'disabled');
    my $shown = $wd->js(q{return Array.prototype.filter.call(document.querySelectorAll('article.ca'),
                            function (a) { return !a.hidden; }).map(function (a) { return a.getAttribute('data-ca-id'); });});
    ok((grep { $_ eq $dc->{id} } @$shown) && !(grep { $_ eq $rc->{id} } @$shown),
       'typing "disabled" in the filter leaves the disabled CA and hides the root');
    $wd->clear($input);
    $wd->js(q{document.getElementById('filter').dispatchEvent(new Event('input'));});

    # Nothing but this server: every resource the page loaded came from its origin.
    my $origins = $wd->js(q{return performance.getEntriesByType('resource').map(function (e) {
                                return new URL(e.name).origin; }).concat([location.origin]);});
    my %o = map { $_ => 1 } @$origins;
    is_deeply([keys %o], [$BASE], 'every resource of the page came from this server');

    # Screenshots (desktop and phone) kept as test artefacts.
    $wd->js(q{window.scrollTo(0, 0);});
    my $png = $wd->screenshot;
    my $shot = catfile($LOGS, 'pki-repository.png');
    write_bin($shot, $png);
    ok(length($png) > 1000 && substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n", "screenshot saved: $shot");
    $wd->resize(390, 1600);
    $wd->go("$BASE/pki/");
    $wd->wait_for(q{return document.body.getAttribute('data-state') === 'ready';}, 20);
    my $phone = $wd->js(q{return { width: document.documentElement.scrollWidth,
                                    view: window.innerWidth };});
    ok($phone->{width} <= $phone->{view}, 'on a phone-sized window nothing scrolls sideways')
        or diag(explain($phone));
    write_bin(catfile($LOGS, 'pki-repository-phone.png'), $wd->screenshot);

    # The DOM as a whole (page source after the script ran).
    my $dom = $wd->source;
    like($dom, qr/<article[^>]+data-ca-id="\Q$rc->{id}\E"/, 'the page source holds the root card');
    unlike($dom, qr/arn:aws|secret-tag|hidden-\Q$tag\E/, 'and nothing private');

    # Downloads: the links of the cards return the right bytes.
    my $got = sub { my $r = $ua->get(URI->new_abs($_[0], "$BASE/pki/")->as_string); $r->code == 200 ? $r->content : undef };
    my $ca_cert = (api(GetCertificateAuthorityCertificate => { CertificateAuthorityArn => $sub->{arn} }))[1] || {};
    is($got->($sc->{links}{'cert-pem'}), $ca_cert->{Certificate}, 'Certificate (PEM) = GetCertificateAuthorityCertificate');
    is($got->($sc->{links}{'cert-der'}), der_of_pem($ca_cert->{Certificate}), 'Certificate (DER) = its DER');
    my $chain = $got->($sc->{links}{'chain-pem'}) // '';
    is($chain, $ca_cert->{Certificate} . ($ca_cert->{Certificate} =~ /\n\z/ ? '' : "\n") . $ca_cert->{CertificateChain},
       'Chain (PEM) = the certificate, then its chain');
    my $p7 = openssl({ stdin => $got->($sc->{links}{'chain-der'}) // '' }, 'pkcs7', '-inform', 'DER', '-print_certs');
    my @subjects = $p7->{out} =~ /^subject=(.*)$/mg;
    is(scalar(@subjects), 2, 'Chain (PKCS #7) holds two certificates') or diag($p7->{err});
    like($subjects[0] // '', qr/Repo Issuing/, '... the subordinate first');
    my $crl_bytes = $got->($sc->{links}{crl});
    my $crl_text = openssl({ stdin => $crl_bytes // '' }, 'crl', '-inform', 'DER', '-noout', '-text')->{out};
    like($crl_text, qr/Certificate Revocation List/, 'the CRL link returns a DER CRL');
    my($num) = $crl_text =~ /X509v3 CRL Number:\s*\n\s*(\d+)/;
    my $want = $num // 'none';
    like($sc->{crl}, qr/Number \Q$want\E,/, '... whose number is the one on the page');
    is(Digest::SHA::sha256_hex($crl_bytes // ''),
       Digest::SHA::sha256_hex(get("/$crl_bucket/crl/$sc->{id}.crl")->content // 'x'),
       '... the same bytes as the CRL object route');

    stop_browser();
}

##########################################################################
# HTTP details

$res = get('/pki/');
is($res->code, 200, 'GET /pki/: 200');
like($res->header('Content-Security-Policy') // '', qr/default-src 'none'.*script-src 'self'/,
     'a Content-Security-Policy allows only this server');
unlike(get('/pki/')->content . get('/pki/app.js')->content . get('/pki/style.css')->content,
       qr{(?:src|href)\s*=\s*["']?(?:https?:)?//|\@import|url\(\s*["']?(?:https?:)?//},
       'the page, script and style load nothing from elsewhere');
is(get('/pki')->code, 301, 'GET /pki redirects');
like(get('/pki')->header('Location') // '', qr{/pki/$}, '... to /pki/');
is(get('/pki/nothing.html')->code, 404, 'an unknown file: 404');
is(get('/pki/ca/' . $id->($pending) . '.pem')->code, 404, 'the certificate of an unlisted CA: 404');
is($ua->post("$BASE/pki/cas.json")->code, 405, 'POST /pki/cas.json: 405');
my $other = $ua->get(endpoint('acmpca') . '/pki/cas.json');
isnt($other->code, 200, 'a vhost without ACMPCAPublicRepository does not serve the repository');

sub write_bin {
    my($path, $bytes) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $bytes;
    close $fh;
}
